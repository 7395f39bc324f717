// Package httpapi is the HTTP port of the service: one http.Handler per
// Lambda function (face, match), the error object, and the request parsing
// shared by the endpoints. The same handlers serve Lambda (through
// aws-lambda-go-api-proxy) and the local server.
package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

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
		slog.InfoContext(r.Context(), "request rejected", "request_id", id, "status", be.Status, "code", be.Code, "path", r.URL.Path)
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

// router is a ServeMux whose unmatched requests get the error object.
type router struct {
	mux   *http.ServeMux
	paths map[string]bool
}

func newRouter() *router { return &router{mux: http.NewServeMux(), paths: map[string]bool{}} }

func (rt *router) handle(method, path string, h http.HandlerFunc) {
	rt.mux.HandleFunc(method+" "+path, h)
	rt.paths[path] = true
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-Id", biometric.NewID())
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			writeError(w, r, &biometric.Error{Status: 500, Code: biometric.CodeInternal, Message: "internal error", Err: errors.New("panic")})
			slog.ErrorContext(r.Context(), "panic", "value", v)
		}
	}()
	if _, pattern := rt.mux.Handler(r); pattern == "" {
		if rt.paths[r.URL.Path] {
			writeError(w, r, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path))
			return
		}
		writeError(w, r, errorf(http.StatusNotFound, CodeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path))
		return
	}
	rt.mux.ServeHTTP(w, r)
}
