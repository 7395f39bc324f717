package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// NewHTTP returns a reverse proxy to the GPU service at baseURL (such as a
// load balancer in front of the liveness-gpu image on a GPU host). The
// request's method, path (appended to baseURL's path), query, headers
// (the API key among them) and body are passed on, with X-Forwarded-For,
// -Host and -Proto. baseURL must be https, except on a loopback host
// (localhost, 127.0.0.1, ::1), for tests and sidecars. Each request gets at
// most timeout (none of its own when timeout <= 0); a transport failure
// answers 502 GPU_UNAVAILABLE and a timeout 504 GPU_UNAVAILABLE, which Wrap
// treats as a failure and serves locally.
func NewHTTP(baseURL string, timeout time.Duration) (http.Handler, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("handoff: GPU service URL: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("handoff: GPU service URL %q has no host", baseURL)
	}
	if u.User != nil {
		return nil, errors.New("handoff: GPU service URL must not carry credentials")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("handoff: GPU service URL %s: https is required (http only on a loopback host)", u.Redacted())
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status := http.StatusBadGateway
			if errors.Is(err, context.DeadlineExceeded) {
				status = http.StatusGatewayTimeout
			}
			slog.WarnContext(r.Context(), "handoff: GPU service request failed",
				"url", u.Redacted(), "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
			writeError(w, status, fault.CodeGPUUnavailable, "the GPU service did not answer")
		},
	}
	return withTimeout(p, timeout), nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withTimeout bounds each request served by h to d (no bound when d <= 0).
func withTimeout(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
