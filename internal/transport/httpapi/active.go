package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/ml/liveness"
)

// ActiveLiveness configures active (challenge) liveness in bio-sessions.
type ActiveLiveness struct {
	// Keys seals each session's capture key (RSA) in the session record.
	Keys *envelope.Sealer
	// Challenge holds the thresholds of the challenge checks; Timeout and
	// LiveThreshold are set per session from its parameters.
	Challenge challenge.Config
	// PassiveFrames is how many frames HIGH mode scores with the passive
	// model (the best frame and others spread over the capture); MEDIUM
	// scores the best frame only. Default 5.
	PassiveFrames int
	// MaxAttempts bounds init-liveness-parameters calls per session, so a
	// client cannot shop for an easy challenge sequence. Default 5.
	MaxAttempts int
	// UploadGrace is the time after the challenge timeout during which the
	// capture may still arrive (upload time). Default 2 minutes.
	UploadGrace time.Duration
	// Limits bound a capture; zero means capture.DefaultLimits().
	Limits capture.Limits
	// ExposeChecks answers the measures behind a result (identity cosine,
	// planar residuals, passive score and thresholds) in its checks; off,
	// only the frame counts are answered (the measures are logged). They
	// help an integrator debug and an attacker tune a spoof.
	ExposeChecks bool
}

func (a *ActiveLiveness) defaults() {
	if a.PassiveFrames <= 0 {
		a.PassiveFrames = 5
	}
	if a.MaxAttempts <= 0 {
		a.MaxAttempts = 5
	}
	if a.UploadGrace <= 0 {
		a.UploadGrace = 2 * time.Minute
	}
	if a.Limits.MaxFrames == 0 {
		a.Limits = capture.DefaultLimits()
	}
}

// Liveness modes of seed 000 (the livenessMode path segment of a result).
const (
	ModeMedium = "LIVENESS_MEDIUM"
	ModeHigh   = "LIVENESS_HIGH"
)

// Statuses of an active liveness attempt: seed 000's livenessStatus values
// and, before a result exists, INITIALIZED and IN_PROGRESS.
const (
	StatusInitialized = "INITIALIZED"
	StatusInProgress  = "IN_PROGRESS"
)

// LivenessParameters are the parameters of an active liveness attempt
// (seed 000 initLivenessParameters), with the drawn challenges.
type LivenessParameters struct {
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
	Signature string         `json:"signature,omitempty"`
}

func (p *LivenessParameters) setSignature(sig string) { p.Signature = sig }

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

// livenessState is the active liveness state kept in the session's Data.
type livenessState struct {
	Params    LivenessParameters `json:"params"`
	Mode      string             `json:"mode"`
	SealedKey []byte             `json:"sealedKey"`
	Status    string             `json:"status"`
	Result    *ChallengeResult   `json:"result,omitempty"`
	// Used lists every serverRandom a capture was submitted for: none can
	// be submitted twice.
	Used      []string `json:"used,omitempty"`
	Attempts  int      `json:"attempts"`
	Recording string   `json:"recording,omitempty"`
	// Started is when the current capture's analysis began (IN_PROGRESS);
	// an analysis older than analysisDeadline was interrupted (the function
	// timed out or died) and no longer holds the session.
	Started time.Time `json:"started,omitzero"`
	// BestImage is the best frame (JPEG as sent), kept for the replay status.
	BestImageKey string `json:"bestImageKey,omitempty"`
}

// sessionData is the JSON of a session's Data.
type sessionData struct {
	Liveness *livenessState `json:"liveness,omitempty"`
}

func parseSessionData(b []byte) (sessionData, error) {
	var sd sessionData
	if len(b) == 0 {
		return sd, nil
	}
	if err := json.Unmarshal(b, &sd); err != nil {
		return sd, fmt.Errorf("session data: %w", err)
	}
	return sd, nil
}

// updateLiveness applies fn to the session's liveness state and stores it
// with compare-and-swap, retrying when another request changed it first.
// fn returns an error to abandon the update (returned as is).
func (d *Deps) updateLiveness(ctx context.Context, tenant, id string, fn func(s *store.Session, st *livenessState) (*livenessState, error)) (*livenessState, error) {
	for range 20 {
		sess, err := d.Records.GetSession(ctx, tenant, id)
		if err != nil {
			return nil, storeError(err, "bio-session")
		}
		sd, err := parseSessionData(sess.Data)
		if err != nil {
			return nil, internalErr(err)
		}
		next, err := fn(&sess, sd.Liveness)
		if err != nil {
			return nil, err
		}
		sd.Liveness = next
		b, err := json.Marshal(sd)
		if err != nil {
			return nil, internalErr(err)
		}
		err = d.Records.UpdateSessionData(ctx, tenant, id, sess.Data, b)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, storeError(err, "bio-session")
		}
		return next, nil
	}
	return nil, errorf(http.StatusConflict, "CONFLICT", "the bio-session is being changed by other requests; try again")
}

// loadLiveness returns the session and its liveness state (404 when the
// session has none).
func (d *Deps) loadLiveness(ctx context.Context, tenant, id string) (store.Session, *livenessState, error) {
	sess, err := d.Records.GetSession(ctx, tenant, id)
	if err != nil {
		return sess, nil, storeError(err, "bio-session")
	}
	sd, err := parseSessionData(sess.Data)
	if err != nil {
		return sess, nil, internalErr(err)
	}
	if sd.Liveness == nil {
		return sess, nil, errorf(http.StatusNotFound, CodeNotFound, noParameters)
	}
	return sess, sd.Liveness, nil
}

// analysisDeadline is how long an analysis may hold a session IN_PROGRESS:
// more than any function's timeout.
const analysisDeadline = 5 * time.Minute

// interrupted reports whether st's analysis was abandoned.
func (d *Deps) interrupted(st *livenessState) bool {
	return st.Status == StatusInProgress && d.now().Sub(st.Started) > analysisDeadline
}

const noParameters = "the bio-session has no liveness parameters: POST init-liveness-parameters first"

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

// passiveLevels are the passive levels in increasing order.
var passiveLevels = []liveness.Level{liveness.Low, liveness.Medium, liveness.Moderate, liveness.BalancedHigh,
	liveness.High, liveness.BalancedVeryHigh, liveness.VeryHigh, liveness.Highest}

// ParseSecurityLevel maps a securityLevel (seed 000's names, or the passive
// level names) to a passive liveness level. "" gives the default,
// BALANCED_VERY_HIGH (VERY_HIGH3). Seed 000's names win where both
// vocabularies have a name: HIGH is the third level (MODERATE).
func ParseSecurityLevel(s string) (liveness.Level, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return liveness.BalancedVeryHigh, nil
	}
	for i, n := range securityLevels {
		if n == s {
			return passiveLevels[i], nil
		}
	}
	l, err := liveness.ParseLevel(s)
	if err != nil {
		return 0, biometric.Invalid("securityLevel %q is not one of %s (or a passive level name)", s, strings.Join(securityLevels, ", "))
	}
	return l, nil
}

type livenessParamsRequest struct {
	Type          string `json:"type"`
	Timeout       *int64 `json:"timeout"`
	SecurityLevel string `json:"securityLevel"`
	NbChallenge   *int   `json:"nbChallenge"`
	// Deprecated fields of seed 000, accepted and ignored.
	UseAccurateMatch *bool `json:"useAccurateMatch"`
	MatchThreshold   *int  `json:"matchThreshold"`
	// Fields of seed 000's earlier liveness types, accepted and ignored.
	Purpose          ignored `json:"purpose"`
	EnableLighting   ignored `json:"enableLighting"`
	IlluminationMode ignored `json:"illuminationMode"`
}

func (d *Deps) activeReady(w http.ResponseWriter, r *http.Request) bool {
	if d.Active == nil || d.Liveness == nil || d.Bio == nil {
		writeError(w, r, errorf(http.StatusServiceUnavailable, "NOT_CONFIGURED", "active liveness is not configured in this deployment"))
		return false
	}
	return true
}

// initLivenessParameters draws a challenge sequence for the session and
// makes its capture key.
func (d *Deps) initLivenessParameters(w http.ResponseWriter, r *http.Request) {
	if !d.activeReady(w, r) {
		return
	}
	var req livenessParamsRequest
	if err := readJSON(w, r, 64<<10, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := d.newParameters(req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	t, id := tenant(r), r.PathValue("id")
	// Check the session can take an attempt before the key work.
	if _, old, err := d.loadLiveness(r.Context(), t, id); err == nil {
		if err := d.canRestart(old); err != nil {
			writeError(w, r, err)
			return
		}
	} else if be := (*biometric.Error)(nil); errors.As(err, &be) && be.Status == http.StatusNotFound && be.Message != noParameters {
		writeError(w, r, err)
		return
	}
	key, err := capture.NewSessionKey()
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	der, err := capture.MarshalKey(key)
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	sealed, err := d.Active.Keys.Seal(r.Context(), der, captureKeyAAD(t, id))
	if err != nil {
		writeError(w, r, internalErr(fmt.Errorf("seal capture key: %w", err)))
		return
	}
	pem, err := capture.PublicPEM(&key.PublicKey)
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	p.PublicKey = capture.PublicJWK(&key.PublicKey)
	st, err := d.updateLiveness(r.Context(), t, id, func(sess *store.Session, old *livenessState) (*livenessState, error) {
		q := p
		if q.Expires.After(sess.Expires) {
			q.Expires = sess.Expires
		}
		next := &livenessState{Params: q, Mode: modeOf(q.Type), SealedKey: sealed, Status: StatusInitialized, Attempts: 1}
		if old != nil {
			if err := d.canRestart(old); err != nil {
				return nil, err
			}
			next.Attempts = old.Attempts + 1
			next.Used = old.Used
			// The recording and best image of the previous attempt stay
			// (they are deleted with the session).
		}
		if d.Signer != nil {
			cert, err := d.Signer.SignResource(captureCertificate{Issuer: "facelambda", SessionID: id, ServerRandom: q.ServerRandom,
				Key: q.PublicKey, KeyPEM: pem, IssuedAt: q.Issued.Unix(), Expires: q.Expires.Unix()})
			if err != nil {
				return nil, internalErr(err)
			}
			next.Params.Certificate = []string{cert}
		}
		return next, nil
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := st.Params
	d.writeSigned(w, r, http.StatusOK, &out)
}

// canRestart refuses a new attempt while one is analysed or when the
// session has used its attempts.
func (d *Deps) canRestart(old *livenessState) error {
	if old.Status == StatusInProgress && !d.interrupted(old) {
		return errorf(http.StatusConflict, "LIVENESS_IN_PROGRESS", "a capture of this bio-session is being analysed")
	}
	if old.Attempts >= d.Active.MaxAttempts {
		return errorf(http.StatusConflict, "TOO_MANY_ATTEMPTS", fmt.Sprintf("the bio-session has used its %d liveness attempts; create a new bio-session", d.Active.MaxAttempts))
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

func (d *Deps) newParameters(req livenessParamsRequest) (LivenessParameters, error) {
	p := LivenessParameters{Type: strings.ToUpper(strings.TrimSpace(req.Type)), NbChallenge: defaultNbChallenge,
		Timeout: defaultTimeout.Milliseconds()}
	switch p.Type {
	case "":
		p.Type = "HIGH"
	case "MEDIUM", "HIGH":
	default:
		return p, biometric.Invalid("type %q must be MEDIUM or HIGH", req.Type)
	}
	if req.Timeout != nil {
		to := time.Duration(*req.Timeout) * time.Millisecond
		if to < minChallengeTimeout || to > maxChallengeTimeout {
			return p, biometric.Invalid("timeout %d ms must be between %d and %d", *req.Timeout, minChallengeTimeout.Milliseconds(), maxChallengeTimeout.Milliseconds())
		}
		p.Timeout = *req.Timeout
	}
	if req.NbChallenge != nil {
		if *req.NbChallenge < 1 || *req.NbChallenge > challenge.MaxChallenges {
			return p, biometric.Invalid("nbChallenge %d must be between 1 and %d", *req.NbChallenge, challenge.MaxChallenges)
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
	seed, err := rand.Int(rand.Reader, big.NewInt(1<<31))
	if err != nil {
		return p, internalErr(err)
	}
	// A sequence of blinks alone moves no head: nothing for the planar
	// motion test. Seeds drawing one are skipped, so every sequence has a
	// head movement and the challenges stay a function of the seed.
	for {
		p.Seed = uint32(seed.Int64())
		if p.Challenges, err = challenge.Draw(uint64(p.Seed), p.NbChallenge); err != nil {
			return p, internalErr(err)
		}
		if slices.ContainsFunc(p.Challenges, func(a challenge.Action) bool { return a != challenge.Blink }) {
			break
		}
		if seed, err = rand.Int(rand.Reader, big.NewInt(1<<31)); err != nil {
			return p, internalErr(err)
		}
	}
	p.ServerRandom = rand.Text()
	p.Issued = d.now()
	p.Expires = p.Issued.Add(time.Duration(p.Timeout)*time.Millisecond + d.Active.UploadGrace)
	return p, nil
}

// getLivenessParameters returns the session's current parameters.
func (d *Deps) getLivenessParameters(w http.ResponseWriter, r *http.Request) {
	_, st, err := d.loadLiveness(r.Context(), tenant(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := st.Params
	d.writeSigned(w, r, http.StatusOK, &out)
}

// openCaptureKey unseals the session's capture key.
func (d *Deps) openCaptureKey(ctx context.Context, tenant, session string, st *livenessState) (*rsa.PrivateKey, error) {
	der, err := d.Active.Keys.Open(ctx, st.SealedKey, captureKeyAAD(tenant, session))
	if err != nil {
		return nil, fmt.Errorf("open capture key: %w", err)
	}
	return capture.ParseKey(der)
}
