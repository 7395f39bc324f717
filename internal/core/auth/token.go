package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// Client tokens let a web page drive the active liveness of one
// bio-session without the API key: the integrator's backend asks for one
// with its key (Tokens.Issue) and hands it to the page, which sends it as
// "Authorization: Bearer <token>".
//
// A token is TokenPrefix + base64url(claims JSON) + "." +
// base64url(HMAC-SHA256(key, TokenPrefix + base64url(claims JSON))). HMAC
// and not an RSA signature: only the service verifies its tokens, so
// nobody needs a public key, and an HMAC costs microseconds on every call
// of the page. The key is given by the composition root (derived from the
// service's signing key, so no new secret has to be provisioned and every
// function holding the signing key verifies the tokens of the others).
//
// Verify checks the MAC first (constant-time), then the version and the
// lifetime; the caller checks the route, the session and the origin
// (Claims.Allows, Claims.AllowsOrigin) and spends the token's capture
// (CaptureClaim) with the store's one-time claim.

// TokenPrefix starts every client token (an API key starts with KeyPrefix).
const TokenPrefix = "flct_"

// Lifetimes of client tokens.
const (
	DefaultTokenTTL = 5 * time.Minute
	MaxTokenTTL     = 10 * time.Minute
	// tokenLeeway tolerates clocks of different functions a little apart
	// for the issue time.
	tokenLeeway = 30 * time.Second
)

// maxTokenLen bounds a token read from a request before it is decoded.
const maxTokenLen = 2048

// TokenKeyName is the Principal.KeyName of a request made with a client
// token.
const TokenKeyName = "client-token"

// TokenClaims are what a client token binds.
type TokenClaims struct {
	Version int    `json:"v"`
	Tenant  string `json:"ten"`
	Session string `json:"sid"`
	// ID is a random token id (32 hex digits): the name of its capture
	// claim.
	ID       string   `json:"jti"`
	IssuedAt int64    `json:"iat"`
	Expires  int64    `json:"exp"`
	Origins  []string `json:"org,omitempty"`
	// Liveness holds the liveness parameters the issuing backend fixed for
	// the token's attempt (a JSON object of init-liveness-parameters
	// fields; empty: the service's defaults). A page holding the token
	// cannot choose others.
	Liveness json.RawMessage `json:"lp,omitempty"`
}

// ExpiresAt returns the expiry as a time.
func (c TokenClaims) ExpiresAt() time.Time { return time.Unix(c.Expires, 0).UTC() }

// CaptureClaim is the store claim name spent by the first capture a token
// submits (store.Records.Claim): a second one is a replay.
func (c TokenClaims) CaptureClaim() string { return "client-tokens/" + c.ID }

// TokenRoute is one route a client token may call: a method and a path
// pattern whose {id} is the token's session.
type TokenRoute struct{ Method, Pattern string }

// TokenRoutes are the routes of a client token: the capture and liveness
// routes of its bio-session. Capture marks the routes that submit the
// session's one capture.
var tokenRoutes = []struct {
	TokenRoute
	capture bool
}{
	{TokenRoute{"POST", "/v2/bio-sessions/{id}/init-liveness-parameters"}, false},
	{TokenRoute{"GET", "/v2/bio-sessions/{id}/liveness-parameters"}, false},
	{TokenRoute{"POST", "/v2/bio-sessions/{id}/liveness-capture"}, true},
	{TokenRoute{"POST", "/v2/bio-sessions/{id}/liveness-uploads"}, true},
	{TokenRoute{"GET", "/v2/bio-sessions/{id}/liveness-challenge-result/{livenessMode}"}, false},
	{TokenRoute{"POST", "/v2/bio-sessions/{id}/replay-liveness-metadata"}, true},
	{TokenRoute{"GET", "/v2/bio-sessions/{id}/replay-liveness-metadata"}, false},
}

// TokenRoutes lists the routes a client token may call.
func TokenRoutes() []TokenRoute {
	out := make([]TokenRoute, len(tokenRoutes))
	for i, r := range tokenRoutes {
		out[i] = r.TokenRoute
	}
	return out
}

// TokenRouteKind reports whether method and pattern are a token route and
// whether that route submits the capture.
func TokenRouteKind(method, pattern string) (allowed, capture bool) {
	for _, r := range tokenRoutes {
		if r.Method == method && r.Pattern == pattern {
			return true, r.capture
		}
	}
	return false, false
}

// Tokens issues and verifies client tokens with one HMAC key.
type Tokens struct {
	key []byte
	now func() time.Time
}

// NewTokens returns the issuer of key (at least 32 bytes); now is the
// clock (nil: time.Now).
func NewTokens(key []byte, now func() time.Time) (*Tokens, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: client-token key shorter than 32 bytes")
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{key: slices.Clone(key), now: now}, nil
}

// WithClock returns the issuer of the same key on clock now.
func (t *Tokens) WithClock(now func() time.Time) *Tokens { return &Tokens{key: t.key, now: now} }

// Issue returns a token for tenant's bio-session sid living ttl (0:
// DefaultTokenTTL; at most MaxTokenTTL), usable from origins, for an
// attempt with the service's default liveness parameters.
func (t *Tokens) Issue(tenant, sid string, ttl time.Duration, origins []string) (string, TokenClaims, error) {
	return t.IssueWith(tenant, sid, ttl, origins, nil)
}

// IssueWith is Issue for an attempt with the liveness parameters params (a
// JSON object; nil: the defaults), which the token's holder cannot change.
func (t *Tokens) IssueWith(tenant, sid string, ttl time.Duration, origins []string, params json.RawMessage) (string, TokenClaims, error) {
	switch {
	case ttl == 0:
		ttl = DefaultTokenTTL
	case ttl < time.Second || ttl > MaxTokenTTL:
		return "", TokenClaims{}, fault.OnField(fault.CodeInvalidRequest, "ttlSeconds", "ttlSeconds must be 1 to %d", int(MaxTokenTTL/time.Second))
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", TokenClaims{}, fmt.Errorf("auth: token id: %w", err)
	}
	now := t.now().UTC()
	c := TokenClaims{Version: 1, Tenant: tenant, Session: sid, ID: hex.EncodeToString(id[:]),
		IssuedAt: now.Unix(), Expires: now.Add(ttl).Unix(), Origins: slices.Clone(origins), Liveness: slices.Clone(params)}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", TokenClaims{}, fmt.Errorf("auth: encode token: %w", err)
	}
	body := TokenPrefix + base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(t.mac(body)), c, nil
}

func (t *Tokens) mac(body string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// Verify returns the claims of a well-formed, authentic, unexpired token:
// TOKEN_INVALID for a malformed or tampered token (or one of another
// key), TOKEN_EXPIRED for an expired one.
func (t *Tokens) Verify(token string) (TokenClaims, error) {
	invalid := fault.New(fault.CodeTokenInvalid, "the client token is malformed or its signature does not match")
	if len(token) > maxTokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return TokenClaims{}, invalid
	}
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return TokenClaims{}, invalid
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, t.mac(body)) {
		return TokenClaims{}, invalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(body, TokenPrefix))
	if err != nil {
		return TokenClaims{}, invalid
	}
	var c TokenClaims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.Version != 1 || c.Tenant == "" || c.Session == "" || c.ID == "" {
		return TokenClaims{}, invalid
	}
	now := t.now()
	if !now.Before(c.ExpiresAt()) {
		return TokenClaims{}, fault.Newf(fault.CodeTokenExpired, "the client token expired at %s; ask the backend for a new one",
			c.ExpiresAt().Format(time.RFC3339))
	}
	if time.Unix(c.IssuedAt, 0).After(now.Add(tokenLeeway)) || c.Expires-c.IssuedAt > int64(MaxTokenTTL/time.Second) {
		return TokenClaims{}, invalid
	}
	return c, nil
}

// AllowsSession reports whether the token is for session sid.
func (c TokenClaims) AllowsSession(sid string) bool { return sid == c.Session }

// AllowsOrigin reports whether a request from origin may use the token:
// no Origin header (not a browser's cross-origin call), one of the
// token's origins, or the API's own origin (host).
func (c TokenClaims) AllowsOrigin(origin, host string) bool {
	if origin == "" || slices.Contains(c.Origins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// ParseOrigins checks web origins for a key: each a scheme (https, or
// http for localhost) and a host with an optional port, no path, in the
// form browsers send in the Origin header.
func ParseOrigins(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, o := range list {
		o = strings.TrimSpace(o)
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
			u.Scheme+"://"+u.Host != o {
			return nil, fmt.Errorf("%w %q: want scheme://host[:port], as a browser sends it", ErrInvalidOrigin, o)
		}
		if u.Scheme != "https" && (u.Scheme != "http" || u.Hostname() != "localhost" && u.Hostname() != "127.0.0.1") {
			return nil, fmt.Errorf("%w %q: https is required (http only for localhost)", ErrInvalidOrigin, o)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}
