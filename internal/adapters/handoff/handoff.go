// Package handoff sends heavy requests from a CPU Lambda function to a GPU
// service running the same handler: the container-image Lambda function
// liveness-gpu (NewLambda, through the Lambda Invoke API with the API Gateway
// event the caller would have received) or the same image on a GPU host
// behind a load balancer (NewHTTP, a reverse proxy). Wrap decides per request
// and serves locally when the GPU service fails.
package handoff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/uid"
)

// HeaderServedBy names the response header saying where Wrap served a
// request: ServedByGPU or ServedByLocal.
const HeaderServedBy = "X-Facelambda-Served-By"

// Values of HeaderServedBy.
const (
	ServedByGPU   = "gpu"
	ServedByLocal = "local"
)

// Predicate reports whether a request is heavy. It gets a clone of the
// request whose Body reads body, so it may read or parse it (a predicate
// that parses a multipart form should call MultipartForm.RemoveAll); the
// request that is then served has its own, unread copy. It runs before
// authentication: it must be cheap and must not trust the request.
type Predicate func(r *http.Request, body []byte) bool

// Wrap returns a handler that buffers each request body (up to maxBody
// bytes: a larger one is refused with 413 REQUEST_TOO_LARGE), sends the
// requests heavy reports to remote and the others to local, and marks every
// response with HeaderServedBy. A remote answer with a 5xx status (which is
// how NewHTTP and NewLambda report transport and invocation failures) is
// discarded with a warning and the request is served locally, unless the
// request's context has ended. A nil remote or heavy serves everything
// locally.
func Wrap(local http.Handler, heavy Predicate, remote http.Handler, maxBody int64, opts ...Option) http.Handler {
	h := &wrapped{local: local, heavy: heavy, remote: remote, maxBody: maxBody}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Option configures Wrap.
type Option func(*wrapped)

// NoFallback names the requests that must not be served again locally
// after the remote failed: requests with effects the remote may have
// applied before failing (an analysis that spent a one-time serverRandom).
// Their remote answer, 5xx included, is passed through.
func NoFallback(f func(r *http.Request) bool) Option {
	return func(w *wrapped) { w.noFallback = f }
}

type wrapped struct {
	local, remote http.Handler
	heavy         Predicate
	maxBody       int64
	noFallback    func(r *http.Request) bool
}

func (h *wrapped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			writeError(w, http.StatusRequestEntityTooLarge, fault.CodeRequestTooLarge,
				fmt.Sprintf("the request body is over %d bytes", h.maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, fault.CodeInvalidRequest, "the request body could not be read")
		return
	}
	if h.remote == nil || h.heavy == nil || !h.heavy(withBody(r, body), body) {
		h.serveLocal(w, withBody(r, body))
		return
	}
	rec := serveBuffered(h.remote, withBody(r, body))
	if rec.status < 500 || r.Context().Err() != nil || h.noFallback != nil && h.noFallback(r) {
		rec.writeTo(w, ServedByGPU)
		return
	}
	slog.WarnContext(r.Context(), "handoff: GPU service failed, serving locally",
		"method", r.Method, "path", r.URL.Path, "status", rec.status, "reason", snippet(rec.body.Bytes(), 300))
	h.serveLocal(w, withBody(r, body))
}

func (h *wrapped) serveLocal(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(HeaderServedBy, ServedByLocal)
	h.local.ServeHTTP(w, r)
}

// readBody reads the whole body, failing with *http.MaxBytesError past max.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > max {
		return nil, &http.MaxBytesError{Limit: max}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

// withBody returns a shallow clone of r whose Body reads body from the
// start (and can be read again through GetBody).
func withBody(r *http.Request, body []byte) *http.Request {
	c := r.Clone(r.Context())
	c.ContentLength = int64(len(body))
	if len(body) == 0 {
		c.Body, c.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
		return c
	}
	c.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	c.Body, _ = c.GetBody()
	return c
}

// recorder is a buffered http.ResponseWriter: Wrap keeps the remote answer
// until it knows whether to send it or to serve the request locally.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.Write(b)
}

// serveBuffered runs h into a recorder. httputil.ReverseProxy aborts a
// response whose body it could not copy by panicking with
// http.ErrAbortHandler (under net/http's server): that is a transport
// failure, recorded as 502.
func serveBuffered(h http.Handler, r *http.Request) (rec *recorder) {
	rec = &recorder{header: http.Header{}}
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			rec = &recorder{header: http.Header{}, status: http.StatusBadGateway}
			rec.body.WriteString("response aborted while copying its body")
		}
	}()
	h.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec
}

func (rec *recorder) writeTo(w http.ResponseWriter, servedBy string) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set(HeaderServedBy, servedBy)
	w.Header().Set("Content-Length", strconv.Itoa(rec.body.Len()))
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// writeError answers with the error object (fault.Body); its id is the
// request id (X-Request-Id) when one is already set, else a new one.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	id := w.Header().Get("X-Request-Id")
	if id == "" {
		id = uid.New()
		w.Header().Set("X-Request-Id", id)
	}
	b, _ := json.Marshal(fault.Body{ID: id, Code: code, Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// snippet is the start of b, for logs.
func snippet(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
