// Package httpapi is the HTTP port of the service: one http.Handler per
// Lambda function (face, match), the error object, and the request parsing
// shared by the endpoints. The same handlers serve Lambda (through
// aws-lambda-go-api-proxy) and the local server.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/facelambda/facelambda/internal/auth"
	"github.com/facelambda/facelambda/internal/biometric"
)

// ErrorBody is the error object of every 4xx and 5xx response: the seed's
// {id, message} plus a stable machine-readable code.
type ErrorBody struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers with the error object; details of internal errors are
// logged, never sent.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var be *biometric.Error
	if !errors.As(err, &be) {
		be = &biometric.Error{Status: http.StatusInternalServerError, Code: biometric.CodeInternal, Message: "internal error", Err: err}
	}
	id := w.Header().Get("X-Request-Id")
	if id == "" {
		id = biometric.NewID()
	}
	if be.Status >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		slog.DebugContext(r.Context(), "request rejected", "request_id", id, "status", be.Status, "code", be.Code)
	}
	writeJSON(w, be.Status, ErrorBody{ID: id, Code: be.Code, Message: be.Message})
}

func errorf(status int, code, msg string) *biometric.Error {
	return &biometric.Error{Status: status, Code: code, Message: msg}
}

// Codes of transport-level errors.
const (
	CodeNotFound         = "NOT_FOUND"
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	CodeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	CodeBodyTooLarge     = "REQUEST_TOO_LARGE"
)

// Route is one endpoint of a function: what template.yaml must route to it.
type Route struct {
	Method, Path string
	// Scope is the API-key scope the route needs; "" for public routes.
	Scope string
}

// router is a ServeMux whose routes are authenticated, logged and
// recovered, and whose unmatched requests get the error object.
type router struct {
	mux    *http.ServeMux
	routes []Route
	auth   func(http.Handler) http.Handler
}

func newRouter(d *Deps) *router {
	rt := &router{mux: http.NewServeMux()}
	if d != nil && d.Keys != nil {
		rt.auth = auth.Middleware(d.Keys)
	}
	return rt
}

// handle registers h for method and path; scope "" makes the route public.
func (rt *router) handle(method, path, scope string, h http.HandlerFunc) {
	var handler http.Handler = h
	if scope != "" {
		if rt.auth == nil {
			// Only route listings (Routes, template checks) build handlers
			// without a key store; serving them refuses every request.
			handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeError(w, r, errorf(http.StatusServiceUnavailable, "NOT_CONFIGURED", "authentication is not configured"))
			})
		} else {
			handler = rt.auth(auth.Require(scope, h))
		}
	}
	rt.mux.Handle(method+" "+path, handler)
	rt.routes = append(rt.routes, Route{Method: method, Path: path, Scope: scope})
}

// Routes lists the endpoints a handler built by this package serves.
func Routes(h http.Handler) []Route {
	if rt, ok := h.(*router); ok {
		return append([]Route(nil), rt.routes...)
	}
	return nil
}

// statusWriter records the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (rt *router) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := biometric.NewID()
	rw.Header().Set("X-Request-Id", id)
	if ref := r.Header.Get("Reference-Number"); ref != "" && len(ref) <= 128 {
		rw.Header().Set("Reference-Number", ref)
	}
	w := &statusWriter{ResponseWriter: rw}
	holder := new(string)
	r = r.WithContext(context.WithValue(r.Context(), tenantKey{}, holder))
	_, pattern := rt.mux.Handler(r)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			slog.ErrorContext(r.Context(), "panic", "request_id", id, "value", fmt.Sprint(v))
			if w.status == 0 { // nothing sent yet: the error object can still be
				writeError(w, r, &biometric.Error{Status: 500, Code: biometric.CodeInternal, Message: "internal error", Err: errors.New("panic")})
			}
		}
		slog.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", pattern),
			slog.String("path", r.URL.Path), slog.Int("status", w.status), slog.String("tenant", *holder),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000))
	}()
	if pattern == "" {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := rt.mux.Handler(probe); p != "" {
				writeError(w, r, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
				return
			}
		}
		writeError(w, r, errorf(http.StatusNotFound, CodeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path))
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// tenantKey lets handlers report the tenant to the access log: the
// principal is added to the context deeper in the chain than the router.
type tenantKey struct{}

// tenant returns the caller's tenant ("" on public routes) and records it
// for the access log.
func tenant(r *http.Request) string {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return ""
	}
	if h, ok := r.Context().Value(tenantKey{}).(*string); ok {
		*h = p.Tenant
	}
	return p.Tenant
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
