package httpapi_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

// get sends an unauthenticated request (no API key, no token).
func get(h http.Handler, method, path string, header map[string]string) *http.Response {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestWebFiles(t *testing.T) {
	d := fakeDeps(t)
	handlers := map[string]http.Handler{"liveness function": httpapi.LivenessHandler(d), "local server": app.Local(d, nil)}
	files := []struct{ path, file, contentType string }{
		{"/web/liveness.html", "web/liveness.html", "text/html; charset=utf-8"},
		{"/web/liveness.js", "web/dist/liveness.js", "text/javascript; charset=utf-8"},
		{"/web/liveness.css", "web/liveness.css", "text/css; charset=utf-8"},
	}
	for name, h := range handlers {
		for _, f := range files {
			t.Run(name+f.path, func(t *testing.T) {
				res := get(h, http.MethodGet, f.path, nil)
				require.Equal(t, http.StatusOK, res.StatusCode)
				body, err := io.ReadAll(res.Body)
				require.NoError(t, err)
				want, err := os.ReadFile(testkit.Path(t, f.file))
				require.NoError(t, err)
				assert.Equal(t, string(want), string(body), "served %s is not the built file", f.path)
				assert.Equal(t, f.contentType, res.Header.Get("Content-Type"))
				csp := res.Header.Get("Content-Security-Policy")
				assert.Contains(t, csp, "connect-src 'self'")
				assert.NotContains(t, csp, "amazonaws", "the page connects to its own origin and its uploads' only")
				assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
				assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
				assert.Equal(t, "camera=(self), microphone=(), geolocation=()", res.Header.Get("Permissions-Policy"))
				etag := res.Header.Get("ETag")
				require.Regexp(t, `^"[0-9a-f]{24}"$`, etag)

				again := get(h, http.MethodGet, f.path, map[string]string{"If-None-Match": etag})
				assert.Equal(t, http.StatusNotModified, again.StatusCode)
				b, _ := io.ReadAll(again.Body)
				assert.Empty(t, b)
			})
		}
	}
}

func TestWebFilesRefused(t *testing.T) {
	h := httpapi.LivenessHandler(fakeDeps(t))
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/web/nope.js", http.StatusNotFound},
		{http.MethodGet, "/web/web.go", http.StatusNotFound},             // in the embedded folder, not served
		{http.MethodGet, "/web/dist%2Fliveness.js", http.StatusNotFound}, // the built file only by its name
		{http.MethodGet, "/web/src%2Fliveness.ts", http.StatusNotFound},  // sources are not served
		{http.MethodGet, "/web/", http.StatusNotFound},                   // no listing
		{http.MethodPost, "/web/liveness.html", http.StatusMethodNotAllowed},
		{http.MethodGet, "/web/..%2fgo.mod", http.StatusBadRequest}, // a ".." segment
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			res := get(h, tc.method, tc.path, nil)
			assert.Equal(t, tc.status, res.StatusCode)
			assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		})
	}
}

// TestWebFilesThroughLambda: through API Gateway's proxy (payload 2.0),
// the files arrive as text, whole, with their headers.
func TestWebFilesThroughLambda(t *testing.T) {
	handler := lambdahttp.Handler(httpapi.LivenessHandler(fakeDeps(t)))
	for _, f := range []struct{ path, file string }{{"/web/liveness.js", "web/dist/liveness.js"}, {"/web/liveness.html", "web/liveness.html"}} {
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /web/{file}", RawPath: f.path,
			Headers: map[string]string{"user-agent": "test"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{RouteKey: "GET /web/{file}", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: f.path, Protocol: "HTTP/1.1"}}}
		res, err := handler(t.Context(), ev)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, res.Body)
		want, err := os.ReadFile(testkit.Path(t, f.file))
		require.NoError(t, err)
		body := res.Body
		if res.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(body)
			require.NoError(t, err)
			body = string(b)
		}
		assert.Equal(t, string(want), body, f.path)
		assert.Contains(t, res.Headers["Content-Security-Policy"], "connect-src 'self'")
	}
}

// TestWebNoInlineCode: the strict CSP allows no inline script or style,
// so the page must not hold any.
func TestWebNoInlineCode(t *testing.T) {
	html, err := os.ReadFile(testkit.Path(t, "web/liveness.html"))
	require.NoError(t, err)
	for _, tag := range regexp.MustCompile(`(?is)<script\b[^>]*>(.*?)</script>`).FindAllStringSubmatch(string(html), -1) {
		assert.Contains(t, tag[0], ` src="`, "a script without src")
		assert.Empty(t, tag[1], "inline script")
	}
	assert.NotRegexp(t, `(?i)<style\b|\sstyle=|\son[a-z]+=|javascript:`, string(html))
	assert.NotContains(t, httpapi.WebCSP("https://b.s3.us-east-1.amazonaws.com"), "unsafe")
}

// s3Presigner presigns uploads to an S3 bucket's host, as the s3blob store
// does in AWS.
type s3Presigner struct{ store.Blobs }

func (s3Presigner) PresignPut(_ context.Context, key, _ string, _ int64, _ time.Duration) (string, error) {
	return "https://captures.s3.eu-west-1.amazonaws.com/" + key + "?X-Amz-Signature=abc", nil
}

// TestWebConnectOnlyToUploads: the page may connect to its own origin and
// to the host of the service's presigned uploads, nowhere else: a link
// whose fragment names another API (api=) cannot make the served page send
// a capture to it.
func TestWebConnectOnlyToUploads(t *testing.T) {
	d := fakeDeps(t)
	d.Blobs = s3Presigner{d.Blobs}
	res := get(httpapi.LivenessHandler(d), http.MethodGet, "/web/liveness.html", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	csp := res.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "connect-src 'self' https://captures.s3.eu-west-1.amazonaws.com;")
	assert.NotContains(t, csp, "*")
	assert.Equal(t, httpapi.WebCSP("https://captures.s3.eu-west-1.amazonaws.com"), csp)
}
