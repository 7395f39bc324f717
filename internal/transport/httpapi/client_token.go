package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/core/store"
)

// clientTokenRequest is the optional body of POST .../client-token.
type clientTokenRequest struct {
	TTLSeconds int `json:"ttlSeconds"`
	// LivenessParameters fixes the attempt's init-liveness-parameters
	// fields (type, timeout, securityLevel, nbChallenge); absent: the
	// service's defaults. The page cannot change them.
	LivenessParameters *liveness.ParametersRequest `json:"livenessParameters"`
}

// clientTokenResponse is the answer: the token and what it allows.
type clientTokenResponse struct {
	Token         string    `json:"token"`
	ExpiresAt     time.Time `json:"expiresAt"`
	SessionID     string    `json:"sessionId"`
	AllowedRoutes []string  `json:"allowedRoutes"`
	// LivenessParameters are the parameters fixed for the attempt ({}:
	// the defaults).
	LivenessParameters json.RawMessage `json:"livenessParameters"`
}

// createClientToken issues a client token for the bio-session {id} of the
// caller's tenant: at most auth.MaxTokenTTL, and never past the session's
// expiry.
func (d *Deps) createClientToken(w http.ResponseWriter, r *http.Request) {
	if d.Tokens == nil {
		WriteError(w, r, fault.New(fault.CodeNotConfigured, "client tokens are not configured"))
		return
	}
	var req clientTokenRequest
	if r.ContentLength != 0 {
		if err := readJSON(w, r, 4<<10, &req); err != nil {
			WriteError(w, r, err)
			return
		}
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int(auth.MaxTokenTTL/time.Second) {
		WriteError(w, r, fault.OnField(fault.CodeInvalidRequest, "ttlSeconds", "ttlSeconds must be 1 to %d", int(auth.MaxTokenTTL/time.Second)))
		return
	}
	t, sid := tenant(r), r.PathValue("id")
	sess, err := d.sessions().Open(r.Context(), t, sid)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if ttl == 0 {
		ttl = auth.DefaultTokenTTL
	}
	if left := sess.Expires.Sub(d.now()).Truncate(time.Second); left < ttl {
		ttl = left
	}
	if ttl < time.Second {
		WriteError(w, r, fault.Newf(fault.CodeNotFound, "no bio-session %q", clip(sid)))
		return
	}
	var pin json.RawMessage
	if req.LivenessParameters != nil {
		if pin, err = liveness.Pin(*req.LivenessParameters); err != nil {
			WriteError(w, r, err)
			return
		}
	}
	p, _ := auth.FromContext(r.Context())
	token, c, err := d.Tokens.IssueWith(t, sid, ttl, p.Origins, pin)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	routes := make([]string, 0, len(auth.TokenRoutes()))
	for _, tr := range auth.TokenRoutes() {
		routes = append(routes, tr.Method+" "+strings.ReplaceAll(tr.Pattern, "{id}", sid))
	}
	w.Header().Set("Cache-Control", "no-store")
	if pin == nil {
		pin = json.RawMessage("{}")
	}
	writeJSON(w, http.StatusCreated, clientTokenResponse{Token: token, ExpiresAt: c.ExpiresAt(), SessionID: sid,
		AllowedRoutes: routes, LivenessParameters: pin})
}

// bearerToken returns the client token of r's Authorization header, or ""
// when r carries none (an API key, or nothing).
func bearerToken(r *http.Request) string {
	if r.Header.Get("apikey") != "" {
		return ""
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(strings.TrimSpace(cred), auth.TokenPrefix) {
		return ""
	}
	return strings.TrimSpace(cred)
}

// withClientTokens guards the route method+pattern: a request with a
// client token is authenticated by the token (its route, session, origin
// and, for the routes that start or submit the attempt, its one use), then
// handed to next as a principal with the liveness scope alone; any other
// request goes to keyed (the API-key authentication).
func (d *Deps) withClientTokens(method, pattern string, keyed, next http.Handler) http.Handler {
	allowed, capture := auth.TokenRouteKind(method, pattern)
	init := strings.HasSuffix(pattern, "/init-liveness-parameters")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := bearerToken(r)
		if token == "" {
			keyed.ServeHTTP(w, r)
			return
		}
		if d.Tokens == nil {
			WriteError(w, r, fault.New(fault.CodeTokenInvalid, "client tokens are not configured"))
			return
		}
		c, err := d.Tokens.Verify(token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			WriteError(w, r, err)
			return
		}
		origin := r.Header.Get("Origin")
		switch {
		case !allowed:
			WriteError(w, r, fault.New(fault.CodeTokenScope, "a client token may call only its bio-session's capture and liveness routes"))
			return
		case !c.AllowsSession(r.PathValue("id")):
			WriteError(w, r, fault.New(fault.CodeTokenScope, "the client token is for another bio-session"))
			return
		case !c.AllowsOrigin(origin, r.Host):
			WriteError(w, r, fault.New(fault.CodeTokenScope, "the client token may not be used from this origin"))
			return
		}
		if origin != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
		}
		name := ""
		switch {
		case capture:
			name = c.CaptureClaim()
		case init:
			name = c.CaptureClaim() + "/init"
		}
		if name != "" {
			err := d.Records.Claim(r.Context(), c.Tenant, name, c.ExpiresAt())
			switch {
			case errors.Is(err, store.ErrExists):
				WriteError(w, r, fault.New(fault.CodeTokenReplayed,
					"the client token was already used for this step of its liveness attempt; ask the backend for a new token"))
				return
			case err != nil:
				WriteError(w, r, fault.Internal("", err))
				return
			}
		}
		p := auth.Principal{Tenant: c.Tenant, KeyName: auth.TokenKeyName, Scopes: []string{auth.ScopeLiveness}, Token: &c}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}
