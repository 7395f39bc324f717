package httpapi

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/health"
	"github.com/facelambda/facelambda/internal/core/session"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/webhook"
)

// Session is the bio-session resource of seed 000.
type Session = session.Session

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
			return fault.Invalid("expected one JSON object, got an array of %d", len(arr))
		}
		b = arr[0]
	}
	return decodeStrict(b, "", v)
}

func (d *Deps) createSession(w http.ResponseWriter, r *http.Request) {
	var req sessionRequest
	if err := readJSON(w, r, 64<<10, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	s, err := d.sessions().Create(r.Context(), tenant(r), session.CreateInput{CorrelationID: req.CorrelationID,
		ImageStorageEnabled: req.ImageStorageEnabled, TTLSeconds: req.TTLSeconds, CallbackURL: req.CallbackURL})
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v2/bio-sessions/"+s.ID)
	writeJSON(w, http.StatusCreated, s)
}

func requireJSON(r *http.Request) error {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return fault.New(fault.CodeUnsupportedMedia, "Content-Type must be application/json")
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

func (d *Deps) getSession(w http.ResponseWriter, r *http.Request) {
	s, err := d.sessions().Get(r.Context(), tenant(r), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (d *Deps) deleteSession(w http.ResponseWriter, r *http.Request) {
	if err := d.sessions().Delete(r.Context(), tenant(r), r.PathValue("id")); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// SessionPrefix is the blob-key prefix of a session's images.
func SessionPrefix(tenant, sid string) string { return store.SessionBlobPrefix(tenant, sid) }

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
type Monitor = health.Report

func (d *Deps) monitor(w http.ResponseWriter, r *http.Request) {
	m := health.Run(r.Context(), d.Config.Version, d.components()...)
	status := http.StatusOK
	if !m.OK() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, m)
}

func (d *Deps) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, d.keySet())
}

// writeDecision binds v to the request (tenant, X-Request-Id, the time)
// and to subjects, signs it (nothing is bound or signed without a Signer)
// and writes it.
func (d *Deps) writeDecision(w http.ResponseWriter, r *http.Request, status int, v signing.Decision, subjects ...signing.Subject) {
	if err := d.Signer.SignDecision(v, tenant(r), w.Header().Get("X-Request-Id"), d.now(), subjects...); err != nil {
		WriteError(w, r, fault.Internal("", err))
		return
	}
	writeJSON(w, status, v)
}

// writeSigned signs v (unsigned without a Signer) and writes it.
func (d *Deps) writeSigned(w http.ResponseWriter, r *http.Request, status int, v signing.Signable) {
	if err := d.Signer.SignInto(v); err != nil {
		WriteError(w, r, fault.Internal("", err))
		return
	}
	writeJSON(w, status, v)
}
