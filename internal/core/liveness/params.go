package liveness

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	passive "github.com/facelambda/facelambda/internal/ml/liveness"
)

// Liveness modes of seed 000 (the livenessMode path segment of a result).
const (
	ModeMedium = "LIVENESS_MEDIUM"
	ModeHigh   = "LIVENESS_HIGH"
)

// Parameters are the parameters of an active liveness attempt (seed 000
// initLivenessParameters), with the drawn challenges.
type Parameters struct {
	Type          string             `json:"type"`
	Timeout       int64              `json:"timeout"`
	SecurityLevel string             `json:"securityLevel"`
	NbChallenge   int                `json:"nbChallenge"`
	Seed          uint32             `json:"seed"`
	ServerRandom  string             `json:"serverRandom"`
	Challenges    []challenge.Action `json:"challenges"`
	// PassiveLevel is the passive liveness level securityLevel maps to.
	PassiveLevel string    `json:"passiveLevel"`
	Issued       time.Time `json:"issued"`
	// Expires is when a capture for these parameters stops being accepted
	// (issued + timeout + upload grace, at most the session's expiry).
	Expires time.Time `json:"expires"`
	// Certificate holds one JWS (signed with the service key, see the
	// JWKS) binding the session's capture key to the session and
	// serverRandom: what a client encrypts a secure capture for.
	Certificate []string `json:"certificate"`
	// PublicKey is the capture key (JWK, RSA-OAEP-256), also inside the
	// certificate.
	PublicKey map[string]any `json:"publicKey"`
}

// captureCertificate is the payload of the certificate JWS.
type captureCertificate struct {
	Issuer       string         `json:"iss"`
	SessionID    string         `json:"sessionId"`
	ServerRandom string         `json:"serverRandom"`
	Key          map[string]any `json:"key"`
	KeyPEM       string         `json:"keyPem"`
	IssuedAt     int64          `json:"iat"`
	Expires      int64          `json:"exp"`
}

// ParametersRequest is the body of init-liveness-parameters.
type ParametersRequest struct {
	Type          string `json:"type"`
	Timeout       *int64 `json:"timeout"`
	SecurityLevel string `json:"securityLevel"`
	NbChallenge   *int   `json:"nbChallenge"`
	// Deprecated fields of seed 000, accepted and ignored.
	UseAccurateMatch *bool `json:"useAccurateMatch"`
	MatchThreshold   *int  `json:"matchThreshold"`
	// Fields of seed 000's earlier liveness types, accepted and ignored.
	Purpose          json.RawMessage `json:"purpose"`
	EnableLighting   json.RawMessage `json:"enableLighting"`
	IlluminationMode json.RawMessage `json:"illuminationMode"`
}

// Bounds of the liveness parameters.
const (
	minChallengeTimeout = 3 * time.Second
	maxChallengeTimeout = 10 * time.Minute
	defaultTimeout      = 60 * time.Second
	defaultNbChallenge  = 3
)

// securityLevels are seed 000's securityLevel values in increasing order;
// each maps to the passive level of the same rank (docs/api.md). The
// passive level names are accepted too.
var securityLevels = []string{"LOW", "MEDIUM", "HIGH", "VERY_HIGH", "VERY_HIGH2", "VERY_HIGH3", "VERY_HIGH4", "VERY_HIGH5"}

// SecurityLevels are seed 000's securityLevel values in increasing order.
func SecurityLevels() []string { return slices.Clone(securityLevels) }

// TimeoutBounds are the least and the largest challenge timeout.
func TimeoutBounds() (lo, hi time.Duration) { return minChallengeTimeout, maxChallengeTimeout }

// passiveLevels are the passive levels in increasing order.
var passiveLevels = []passive.Level{passive.Low, passive.Medium, passive.Moderate, passive.BalancedHigh,
	passive.High, passive.BalancedVeryHigh, passive.VeryHigh, passive.Highest}

// ParseSecurityLevel maps a securityLevel (seed 000's names, or the passive
// level names) to a passive liveness level. "" gives the default,
// BALANCED_VERY_HIGH (VERY_HIGH3). Seed 000's names win where both
// vocabularies have a name: HIGH is the third level (MODERATE).
func ParseSecurityLevel(s string) (passive.Level, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return passive.BalancedVeryHigh, nil
	}
	for i, n := range securityLevels {
		if n == s {
			return passiveLevels[i], nil
		}
	}
	l, err := passive.ParseLevel(s)
	if err != nil {
		return 0, fault.Invalid("securityLevel %q is not one of %s (or a passive level name)", s, strings.Join(securityLevels, ", "))
	}
	return l, nil
}

// InitParameters draws a challenge sequence for the session and makes its
// capture key: a new attempt.
func (s *Service) InitParameters(ctx context.Context, t, id string, req ParametersRequest) (*Parameters, error) {
	if err := s.ActiveReady(); err != nil {
		return nil, err
	}
	p, err := s.newParameters(req)
	if err != nil {
		return nil, err
	}
	// Check the session can take an attempt before the key work.
	if _, old, err := s.load(ctx, t, id); err == nil {
		if err := s.canRestart(old); err != nil {
			return nil, err
		}
	} else if isNotFound(err) && !errors.Is(err, errNoParameters) {
		return nil, err
	}
	key, err := capture.NewSessionKey()
	if err != nil {
		return nil, err
	}
	der, err := capture.MarshalKey(key)
	if err != nil {
		return nil, err
	}
	sealed, err := s.active.Keys.Seal(ctx, der, captureKeyAAD(t, id))
	if err != nil {
		return nil, fmt.Errorf("seal capture key: %w", err)
	}
	pem, err := capture.PublicPEM(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	p.PublicKey = capture.PublicJWK(&key.PublicKey)
	st, err := s.update(ctx, t, id, func(sess *store.Session, old *state) (*state, error) {
		q := p
		if q.Expires.After(sess.Expires) {
			q.Expires = sess.Expires
		}
		next := &state{Params: q, Mode: modeOf(q.Type), SealedKey: sealed, Status: StatusInitialized, Attempts: 1}
		if old != nil {
			if err := s.canRestart(old); err != nil {
				return nil, err
			}
			next.Attempts = old.Attempts + 1
			next.Used = old.Used
			// The recording and best image of the previous attempt stay
			// (they are deleted with the session).
		}
		if s.signer != nil {
			cert, err := s.signer.SignResource(captureCertificate{Issuer: "facelambda", SessionID: id, ServerRandom: q.ServerRandom,
				Key: q.PublicKey, KeyPEM: pem, IssuedAt: q.Issued.Unix(), Expires: q.Expires.Unix()})
			if err != nil {
				return nil, err
			}
			next.Params.Certificate = []string{cert}
		}
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &st.Params, nil
}

// Parameters returns the session's current parameters.
func (s *Service) Parameters(ctx context.Context, t, id string) (*Parameters, error) {
	_, st, err := s.load(ctx, t, id)
	if err != nil {
		return nil, err
	}
	return &st.Params, nil
}

// canRestart refuses a new attempt while one is analysed or when the
// session has used its attempts.
func (s *Service) canRestart(old *state) error {
	if old.Status == StatusInProgress && !s.interrupted(old) {
		return fault.New(fault.CodeLivenessInProgress, "a capture of this bio-session is being analysed")
	}
	if old.Attempts >= s.active.MaxAttempts {
		return fault.Newf(fault.CodeTooManyAttempts, "the bio-session has used its %d liveness attempts; create a new bio-session", s.active.MaxAttempts)
	}
	return nil
}

func captureKeyAAD(tenant, session string) envelope.AAD {
	return envelope.AAD{Tenant: tenant, Purpose: "capture-key/" + session}
}

func modeOf(typ string) string {
	if typ == "MEDIUM" {
		return ModeMedium
	}
	return ModeHigh
}

func (s *Service) newParameters(req ParametersRequest) (Parameters, error) {
	p, err := settings(req)
	if err != nil {
		return p, err
	}
	if p.Seed, p.Challenges, err = s.drawChallenges(p.NbChallenge); err != nil {
		return p, err
	}
	p.NbChallenge = len(p.Challenges)
	p.ServerRandom = rand.Text()
	p.Issued = s.now()
	p.Expires = p.Issued.Add(time.Duration(p.Timeout)*time.Millisecond + s.active.UploadGrace)
	return p, nil
}

// settings are the attempt settings req asks for (type, timeout, number of
// challenges, security and passive level), the defaults where it sets none;
// an invalid value is INVALID_REQUEST.
func settings(req ParametersRequest) (Parameters, error) {
	p := Parameters{Type: strings.ToUpper(strings.TrimSpace(req.Type)), NbChallenge: defaultNbChallenge,
		Timeout: defaultTimeout.Milliseconds()}
	switch p.Type {
	case "":
		p.Type = "HIGH"
	case "MEDIUM", "HIGH":
	default:
		return p, fault.Invalid("type %q must be MEDIUM or HIGH", req.Type)
	}
	if req.Timeout != nil {
		// Bounds in ms: a duration made first could overflow into them.
		if to := *req.Timeout; to < minChallengeTimeout.Milliseconds() || to > maxChallengeTimeout.Milliseconds() {
			return p, fault.Invalid("timeout %d ms must be between %d and %d", *req.Timeout, minChallengeTimeout.Milliseconds(), maxChallengeTimeout.Milliseconds())
		}
		p.Timeout = *req.Timeout
	}
	if req.NbChallenge != nil {
		if *req.NbChallenge < 1 || *req.NbChallenge > challenge.MaxChallenges {
			return p, fault.Invalid("nbChallenge %d must be between 1 and %d", *req.NbChallenge, challenge.MaxChallenges)
		}
		p.NbChallenge = *req.NbChallenge
	}
	level, err := ParseSecurityLevel(req.SecurityLevel)
	if err != nil {
		return p, err
	}
	p.PassiveLevel = level.String()
	p.SecurityLevel = strings.ToUpper(strings.TrimSpace(req.SecurityLevel))
	if p.SecurityLevel == "" {
		p.SecurityLevel = securityLevels[5]
	}
	return p, nil
}

// drawChallenges draws a seed and its n challenges. A sequence of blinks
// alone moves no head: nothing for the planar motion test. Seeds drawing one
// are skipped, so every sequence has a head movement and the challenges stay
// a function of the seed. Active.DrawChallenges (tests only) replaces the
// draw and is taken as it answers.
func (s *Service) drawChallenges(n int) (uint32, []challenge.Action, error) {
	for {
		r, err := rand.Int(rand.Reader, big.NewInt(1<<31))
		if err != nil {
			return 0, nil, err
		}
		seed := uint32(r.Int64())
		if draw := s.active.DrawChallenges; draw != nil {
			acts, err := draw(uint64(seed), n)
			if err == nil && len(acts) == 0 {
				err = errors.New("the challenge draw answered no challenge")
			}
			return seed, acts, err
		}
		acts, err := challenge.Draw(uint64(seed), n)
		if err != nil {
			return 0, nil, err
		}
		if slices.ContainsFunc(acts, func(a challenge.Action) bool { return a != challenge.Blink }) {
			return seed, acts, nil
		}
	}
}

// openCaptureKey unseals the session's capture key.
func (s *Service) openCaptureKey(ctx context.Context, tenant, session string, st *state) (*rsa.PrivateKey, error) {
	der, err := s.active.Keys.Open(ctx, st.SealedKey, captureKeyAAD(tenant, session))
	if err != nil {
		return nil, fmt.Errorf("open capture key: %w", err)
	}
	return capture.ParseKey(der)
}
