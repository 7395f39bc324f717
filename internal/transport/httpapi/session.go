package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/webhook"
)

// Session is the bio-session resource of seed 000.
type Session struct {
	ID                  string    `json:"id"`
	CorrelationID       *string   `json:"correlationId"`
	ImageStorageEnabled bool      `json:"imageStorageEnabled"`
	CallbackURL         *string   `json:"callbackURL,omitempty"`
	TTLSeconds          int64     `json:"ttlSeconds"`
	Created             time.Time `json:"created"`
	Expires             time.Time `json:"expires"`
	Signature           string    `json:"signature,omitempty"`
}

type sessionRequest struct {
	CorrelationID       string `json:"correlationId"`
	ImageStorageEnabled bool   `json:"imageStorageEnabled"`
	TTLSeconds          *int64 `json:"ttlSeconds"`
	CallbackURL         string `json:"callbackURL"`
}

// SessionHandler serves the session function: bio-sessions, capabilities,
// monitor and the JWKS.
func SessionHandler(d *Deps) http.Handler {
	d.defaults()
	rt := newRouter(d)
	rt.handle("POST", "/v2/bio-sessions", auth.ScopeSessionWrite, d.createSession)
	rt.handle("GET", "/v2/bio-sessions/{id}", auth.ScopeSessionRead, d.getSession)
	rt.handle("DELETE", "/v2/bio-sessions/{id}", auth.ScopeSessionWrite, d.deleteSession)
	rt.handle("GET", "/v2/capabilities", auth.ScopeSessionRead, d.capabilities)
	rt.handle("GET", "/v2/monitor", "", d.monitor)
	rt.handle("GET", "/v2/.well-known/jwks.json", "", d.jwks)
	d.webhookRoutes(rt)
	return rt
}

// readJSON decodes a JSON body of at most limit bytes into v; seed 000 sends
// some bodies as a one-element array, which is accepted too.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyError(err)
	}
	var arr []json.RawMessage
	if json.Unmarshal(b, &arr) == nil {
		if len(arr) != 1 {
			return biometric.Invalid("expected one JSON object, got an array of %d", len(arr))
		}
		b = arr[0]
	}
	return decodeStrict(b, "", v)
}

func (d *Deps) createSession(w http.ResponseWriter, r *http.Request) {
	var req sessionRequest
	if err := readJSON(w, r, 64<<10, &req); err != nil {
		writeError(w, r, err)
		return
	}
	ttl := d.Config.DefaultTTL
	if req.TTLSeconds != nil {
		if *req.TTLSeconds <= 0 {
			writeError(w, r, biometric.Invalid("ttlSeconds must be positive"))
			return
		}
		if *req.TTLSeconds > int64(d.Config.MaxTTL/time.Second) {
			writeError(w, r, biometric.Invalid("ttlSeconds %d exceeds the maximum of %d", *req.TTLSeconds, int64(d.Config.MaxTTL/time.Second)))
			return
		}
		ttl = time.Duration(*req.TTLSeconds) * time.Second
	}
	if req.CallbackURL != "" {
		if err := d.checkCallback(req.CallbackURL); err != nil {
			writeError(w, r, err)
			return
		}
	}
	now := d.now()
	s := store.Session{Tenant: tenant(r), ID: biometric.NewID(), CorrelationID: req.CorrelationID,
		ImageStorage: req.ImageStorageEnabled, CallbackURL: req.CallbackURL, Created: now, Expires: now.Add(ttl)}
	if err := d.Records.CreateSession(r.Context(), s); err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	w.Header().Set("Location", "/v2/bio-sessions/"+s.ID)
	d.writeSigned(w, r, http.StatusCreated, sessionOf(s))
	d.emit(r.Context())(events.NewSessionCreated(s.Tenant, events.SessionData{SessionID: s.ID, CorrelationID: s.CorrelationID}))
}

func requireJSON(r *http.Request) error {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be application/json")
	}
	return nil
}

// callbackPolicy is the URL policy of session callbacks: the webhook SSRF
// rules with the registry's allow-list (none where the function has no
// registry), http only when Config.AllowHTTPCallbacks says so.
func (d *Deps) callbackPolicy() webhook.Policy {
	var p webhook.Policy
	if d.Webhooks != nil {
		p = d.Webhooks.Policy()
	}
	p.AllowHTTP = d.Config.AllowHTTPCallbacks
	return p
}

// checkCallback applies the webhook SSRF rules to a session's callbackURL
// when it is registered (they apply again when a delivery connects).
func (d *Deps) checkCallback(raw string) error {
	if _, err := d.callbackPolicy().CheckURL(raw); err != nil {
		msg := strings.TrimPrefix(err.Error(), webhook.ErrInvalid.Error()+": ")
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "url: "), "url ")
		return fieldErr(biometric.CodeInvalidRequest, "callbackURL", "callbackURL: %s", msg)
	}
	return nil
}

func sessionOf(s store.Session) *Session {
	return &Session{ID: s.ID, CorrelationID: nilIfEmpty(s.CorrelationID), ImageStorageEnabled: s.ImageStorage,
		CallbackURL: nilIfEmpty(s.CallbackURL), TTLSeconds: int64(s.Expires.Sub(s.Created) / time.Second),
		Created: s.Created.UTC(), Expires: s.Expires.UTC()}
}

func (d *Deps) getSession(w http.ResponseWriter, r *http.Request) {
	s, err := d.Records.GetSession(r.Context(), tenant(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	d.writeSigned(w, r, http.StatusOK, sessionOf(s))
}

func (d *Deps) deleteSession(w http.ResponseWriter, r *http.Request) {
	t, id := tenant(r), r.PathValue("id")
	if _, err := d.Records.GetSession(r.Context(), t, id); err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	if err := d.Records.DeleteSession(r.Context(), t, id); err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	if err := d.Blobs.DeletePrefix(r.Context(), SessionPrefix(t, id)); err != nil {
		writeError(w, r, internalErr(fmt.Errorf("delete session images: %w", err)))
		return
	}
	w.WriteHeader(http.StatusNoContent)
	d.emit(r.Context())(events.NewSessionDeleted(t, events.SessionData{SessionID: id}))
}

// SessionPrefix is the blob-key prefix of a session's images.
func SessionPrefix(tenant, session string) string { return "sessions/" + tenant + "/" + session + "/" }

// Capabilities reports what the service runs.
type Capabilities struct {
	Status          string   `json:"status"`
	Version         string   `json:"version"`
	CurrentMode     []string `json:"currentMode"`
	AcceptedModes   []string `json:"acceptedModes"`
	TemplateVersion int      `json:"templateVersion"`
	ImageTypes      []string `json:"imageTypes"`
	Levels          []string `json:"securityLevels"`
	QualityModes    []string `json:"qualityModes"`
	MaxImageBytes   int      `json:"maxImageBytes"`
	MaxImagePixels  int      `json:"maxImagePixels"`
	MaxTTLSeconds   int64    `json:"maxTtlSeconds"`
	// Liveness lists the liveness levels, active modes and challenges.
	Liveness LivenessCapabilities `json:"liveness"`
}

// LivenessCapabilities describes passive and active liveness.
type LivenessCapabilities struct {
	PassiveLevels   []string           `json:"passiveLevels"`
	SecurityLevels  []string           `json:"activeSecurityLevels"`
	Modes           []string           `json:"livenessModes"`
	Challenges      []challenge.Action `json:"challenges"`
	MaxChallenges   int                `json:"maxChallenges"`
	MaxFrames       int                `json:"maxFrames"`
	SecureCapture   string             `json:"secureCapture"`
	TimeoutMsBounds [2]int64           `json:"timeoutMsBounds"`
}

func (d *Deps) capabilities(w http.ResponseWriter, r *http.Request) {
	tenant(r)
	enc := d.Encoder
	writeJSON(w, http.StatusOK, Capabilities{Status: "ok", Version: d.Config.Version, CurrentMode: []string{enc},
		AcceptedModes: []string{enc}, TemplateVersion: TemplateVersion,
		ImageTypes:    []string{"SELFIE", "ID_DOCUMENT", "VIDEO_FRAME"},
		Levels:        []string{"MEDIUM", "HIGH", "VERY_HIGH", "HIGHEST"},
		QualityModes:  []string{"ENROL", "VERIFY", "DISABLED"},
		MaxImageBytes: maxImageBytes, MaxImagePixels: maxImagePixels, MaxTTLSeconds: int64(d.Config.MaxTTL / time.Second),
		Liveness: livenessCapabilities()})
}

// Monitor is the health report: ok only when the models and stores answer.
type Monitor struct {
	Status     string            `json:"status"`
	Version    string            `json:"version"`
	Components map[string]string `json:"components"`
}

func (d *Deps) monitor(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	m := Monitor{Status: "ok", Version: d.Config.Version, Components: map[string]string{}}
	check := func(name string, f func(context.Context) error) {
		if f == nil {
			m.Components[name] = "not configured"
			m.Status = "error"
			return
		}
		if err := f(ctx); err != nil {
			m.Components[name] = "error"
			m.Status = "error"
			return
		}
		m.Components[name] = "ok"
	}
	check("models", d.ModelsReady)
	check("records", pingOf(d.Records))
	check("blobs", pingOf(d.Blobs))
	status := http.StatusOK
	if m.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, m)
}

func pingOf(p interface{ Ping(context.Context) error }) func(context.Context) error {
	if p == nil {
		return nil
	}
	return p.Ping
}

func (d *Deps) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, d.keySet())
}

// signable is a resource with a signature field.
type signable interface{ setSignature(string) }

func (s *Session) setSignature(sig string) { s.Signature = sig }
func (f *Face) setSignature(sig string)    { f.Signature = sig }
func (m *Match) setSignature(sig string)   { m.Signature = sig }
func (m *Match) bind(c *signing.Claims)    { m.Claims = c }

// sign fills the resource's signature: a compact JWS over its JSON without
// the signature member.
func (d *Deps) sign(v signable) error {
	if d.Signer == nil {
		return nil
	}
	v.setSignature("")
	sig, err := d.Signer.SignResource(v)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	v.setSignature(sig)
	return nil
}

// decision is a signed result that is bound to what it is about: it
// carries signing.Claims, set when it is signed.
type decision interface {
	signable
	bind(*signing.Claims)
}

// signDecision binds v to the request (tenant, X-Request-Id, the time) and
// to subjects, then signs it. Without a signer nothing is bound or signed.
func (d *Deps) signDecision(w http.ResponseWriter, r *http.Request, v decision, subjects ...signing.Subject) error {
	if d.Signer == nil {
		v.bind(nil)
		return nil
	}
	v.bind(signing.NewClaims(tenant(r), w.Header().Get("X-Request-Id"), d.now(), subjects...))
	return d.sign(v)
}

// writeDecision signs a decision (signDecision) and writes it.
func (d *Deps) writeDecision(w http.ResponseWriter, r *http.Request, status int, v decision, subjects ...signing.Subject) {
	if err := d.signDecision(w, r, v, subjects...); err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	writeJSON(w, status, v)
}

func (d *Deps) writeSigned(w http.ResponseWriter, r *http.Request, status int, v signable) {
	if err := d.sign(v); err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	writeJSON(w, status, v)
}

// storeError maps store errors: not found (or another tenant's) is a 404.
func storeError(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, CodeNotFound, what+" not found")
	}
	return internalErr(err)
}

func internalErr(err error) error {
	return &biometric.Error{Status: http.StatusInternalServerError, Code: biometric.CodeInternal, Message: "internal error", Err: err}
}
