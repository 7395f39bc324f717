// Package httpapi is the HTTP port of the service: one http.Handler per
// Lambda function (face, match), the error object, and the request parsing
// shared by the endpoints. The same handlers serve Lambda (through
// aws-lambda-go-api-proxy) and the local server.
package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/uid"
)

// ErrorBody is the error object of every 4xx and 5xx response (fault.Body).
type ErrorBody = fault.Body

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError answers with the error object of err: the status of its code
// (StatusOf), its code, message and field; an error that is not a
// *fault.Error is an internal error, whose cause is logged, never sent. The
// object's id is the response's X-Request-Id, set to a new id when absent.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	be := fault.As(err)
	if be == nil {
		be = fault.Internal("", err)
	}
	status := StatusOf(be)
	field := be.Field
	id := w.Header().Get("X-Request-Id")
	if id == "" {
		id = uid.New()
		w.Header().Set("X-Request-Id", id)
	}
	if status >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "request_id", id, "method", r.Method, "path", clip(r.URL.Path),
			"status", status, "code", be.Code, "err", causeOf(err, be))
	} else {
		slog.DebugContext(r.Context(), "request rejected", "request_id", id, "status", status, "code", be.Code, "field", field)
	}
	writeJSON(w, status, ErrorBody{ID: id, Code: be.Code, Message: be.Message, Field: field})
}

// causeOf is what the log says of a failure: the wrapped cause of the
// service's error, not the message the client was given.
func causeOf(err error, be *fault.Error) string {
	switch {
	case be.Err != nil:
		return be.Err.Error()
	case err != error(be):
		return err.Error()
	}
	return be.Message
}

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
	// deps, when set, authenticates client tokens (withClientTokens).
	deps *Deps
	// probe, when set, is asked which methods a path has (NotRouted).
	probe *http.ServeMux
	gate  *Gate
}

func newRouter(d *Deps) *router {
	rt := &router{mux: http.NewServeMux()}
	if d != nil {
		rt.gate = d.Gate
	}
	if d != nil && d.Keys != nil {
		rt.auth = auth.Middleware(d.Keys, WriteError)
		rt.deps = d
	}
	return rt
}

// handle registers h for method and path; scope "" makes the route public.
func (rt *router) handle(method, path, scope string, h http.HandlerFunc) {
	handler := checkPathValues(path, h)
	if scope != "" {
		if rt.auth == nil {
			// Only route listings (Routes, template checks) build handlers
			// without a key store; serving them refuses every request.
			handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				WriteError(w, r, fault.New(fault.CodeNotConfigured, "authentication is not configured"))
			})
		} else {
			guarded := auth.Require(scope, handler, WriteError)
			handler = rt.deps.withClientTokens(method, path, rt.auth(guarded), guarded)
		}
	}
	rt.mux.Handle(method+" "+path, handler)
	rt.routes = append(rt.routes, Route{Method: method, Path: path, Scope: scope})
}

// maxPathValue bounds an id in a path: a longer one names nothing (and
// would be refused by DynamoDB as a key).
const maxPathValue = 128

// checkPathValues answers 404 to a request whose path values (the {name}s
// of pattern) are empty, over maxPathValue bytes or hold control
// characters, before h looks them up.
func checkPathValues(pattern string, h http.Handler) http.Handler {
	var names []string
	for seg := range strings.SplitSeq(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.Trim(seg, "{}"), "..."))
		}
	}
	if len(names) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, n := range names {
			v := r.PathValue(n)
			if v == "" || len(v) > maxPathValue || strings.ContainsFunc(v, func(c rune) bool { return c < ' ' || c == 0x7f }) {
				WriteError(w, r, fault.Newf(fault.CodeNotFound, "no %s %q", n, clip(v)))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
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

// requestIDPattern is a well-formed X-Request-Id of a caller: 1 to 128 of
// letters, digits and . _ : - (a UUID, a trace id, a seed 002 transaction
// id). Another value is replaced by one of the service's.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// WellFormedRequestID reports whether a caller's X-Request-Id is kept.
func WellFormedRequestID(s string) bool { return requestIDPattern.MatchString(s) }

// requestState is what the router and the handlers share about one
// request: its id (the X-Request-Id header, the error object's id, refid,
// the access log's request_id) and the caller's tenant.
type requestState struct {
	id string
	// given is true when id is the caller's X-Request-Id.
	given  bool
	tenant string
}

type stateKey struct{}

func stateOf(r *http.Request) *requestState {
	if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
		return st
	}
	return &requestState{}
}

// setRequestID makes id the request's id everywhere it appears.
func setRequestID(w http.ResponseWriter, r *http.Request, id string) {
	stateOf(r).id = id
	w.Header().Set("X-Request-Id", id)
}

type logAttrsKey struct{}

// WithLogAttrs returns ctx with attributes the access log of the request
// adds (the Lambda and API Gateway request ids).
func WithLogAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	return context.WithValue(ctx, logAttrsKey{}, append(slices.Clip(prev), attrs...))
}

// methods are the methods probed to answer 405 with Allow.
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}

// AllowedMethods lists the methods mux routes path to (none: no such
// path).
func AllowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := mux.Handler(probe); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// badPath reports a path the service never routes: not absolute, or with
// empty, "." or ".." segments (which a ServeMux would answer with a
// redirect).
func badPath(p string) bool {
	if !strings.HasPrefix(p, "/") {
		return true
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if s == "." || s == ".." || s == "" && i < len(segs)-1 {
			return true
		}
	}
	return false
}

func (rt *router) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := &requestState{id: uid.New()}
	if in := r.Header.Get("X-Request-Id"); WellFormedRequestID(in) {
		st.id, st.given = in, true
	}
	rw.Header().Set("X-Request-Id", st.id)
	ref := r.Header.Get("Reference-Number")
	if ref != "" && len(ref) <= 128 {
		rw.Header().Set("Reference-Number", ref)
	}
	w := &statusWriter{ResponseWriter: rw}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	pattern := ""
	if !badPath(r.URL.Path) {
		_, pattern = rt.mux.Handler(r)
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			slog.ErrorContext(r.Context(), "panic", "request_id", st.id, "value", fmt.Sprint(v), "stack", string(debug.Stack()))
			if w.status == 0 { // nothing sent yet: the error object can still be
				WriteError(w, r, fault.Internal("", fmt.Errorf("panic: %v", v)))
			}
		}
		attrs := []slog.Attr{slog.String("request_id", st.id), slog.String("method", r.Method), slog.String("route", pattern),
			slog.String("path", clip(r.URL.Path)), slog.Int("status", w.status), slog.String("tenant", st.tenant),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000)}
		if ref != "" {
			attrs = append(attrs, slog.String("reference_number", clip(ref)))
		}
		extra, _ := r.Context().Value(logAttrsKey{}).([]slog.Attr)
		slog.LogAttrs(r.Context(), slog.LevelInfo, "request", append(attrs, extra...)...)
	}()
	switch {
	case badPath(r.URL.Path):
		WriteError(w, r, fault.Invalid("the path must not have empty, \".\" or \"..\" segments"))
	case pattern != "":
		release, ok := rt.gate.enter(w, r, pattern)
		if !ok {
			return
		}
		defer release()
		rt.mux.ServeHTTP(w, r)
	default:
		probe := rt.mux
		if rt.probe != nil {
			probe = rt.probe
		}
		notRouted(w, r, AllowedMethods(probe, r))
	}
}

// notRouted answers a request no route takes: 405 with Allow when the path
// has routes for other methods (OPTIONS among them: CORS preflights are
// answered before the handlers where CORS applies), else 404.
func notRouted(w http.ResponseWriter, r *http.Request, allow []string) {
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		WriteError(w, r, fault.Newf(fault.CodeMethodNotAllowed, "%s is not allowed on %s (allowed: %s)",
			clip(r.Method), clip(r.URL.Path), strings.Join(allow, ", ")))
		return
	}
	WriteError(w, r, fault.New(fault.CodeNotFound, "no such endpoint: "+clip(r.Method)+" "+clip(r.URL.Path)))
}

// NotRouted answers a request no function routes (the local server's
// fallback): the error object, 405 with Allow when mux has the path under
// other methods, else 404.
func NotRouted(mux *http.ServeMux) http.Handler {
	return &router{mux: http.NewServeMux(), probe: mux}
}

// tenant returns the caller's tenant ("" on public routes) and records it
// for the access log.
func tenant(r *http.Request) string {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return ""
	}
	stateOf(r).tenant = p.Tenant
	return p.Tenant
}
