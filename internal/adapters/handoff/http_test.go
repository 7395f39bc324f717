package handoff_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/handoff"
	"github.com/facelambda/facelambda/internal/core/fault"
)

func TestNewHTTPRefusesUnsafeURLs(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://gpu.example.com", true},
		{"https://gpu.example.com/prefix", true},
		{"http://localhost:8080", true},
		{"http://127.0.0.1:9000", true},
		{"http://[::1]:9000", true},
		{"http://gpu.example.com", false},
		{"http://10.0.0.5:8080", false},
		{"ftp://localhost", false},
		{"gpu.example.com", false},
		{"", false},
		{"https://user:secret@gpu.example.com", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			h, err := handoff.NewHTTP(tc.url, time.Second)
			if tc.ok {
				require.NoError(t, err)
				assert.NotNil(t, h)
				return
			}
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "secret", "credentials are not logged")
		})
	}
}

// TestHTTPRoundTrip runs client -> front server (the proxy) -> GPU server
// (a real handler) and checks what each side sees.
func TestHTTPRoundTrip(t *testing.T) {
	gpu := httptest.NewServer(echoHandler("gpu"))
	defer gpu.Close()
	img := jpegLike(64 << 10)
	form, formType := multipartBody(t, img, "HIGHEST")

	for _, tc := range []struct {
		name, base, path, query, contentType string
		body                                 []byte
		wantStatus                           int
		wantPath                             string
	}{
		{"json with query", gpu.URL, "/v2/liveness", "threshold=HIGH&x=1", "application/json", []byte(`{"image":"AAAA"}`), 200, "/v2/liveness"},
		{"multipart", gpu.URL, "/v2/liveness", "", formType, form, 200, "/v2/liveness"},
		{"status passed on", gpu.URL, "/v2/liveness", "status=418", "application/json", []byte(`{}`), 418, "/v2/liveness"},
		{"base path prefix", gpu.URL + "/gpu", "/v2/liveness", "", "application/json", []byte(`{}`), 200, "/gpu/v2/liveness"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote, err := handoff.NewHTTP(tc.base, 5*time.Second)
			require.NoError(t, err)
			front := httptest.NewServer(remote)
			defer front.Close()

			u := front.URL + tc.path
			if tc.query != "" {
				u += "?" + tc.query
			}
			req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("apikey", "k-123")
			req.Header.Set("X-Custom", "a")
			req.AddCookie(&http.Cookie{Name: "c", Value: "1"})
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)

			require.Equal(t, tc.wantStatus, resp.StatusCode, string(b))
			assert.Equal(t, "gpu", resp.Header.Get("X-Side"))
			assert.Equal(t, "seen=gpu", resp.Header.Get("Set-Cookie"))
			e := decodeEcho(t, b)
			assert.Equal(t, http.MethodPost, e.Method)
			assert.Equal(t, tc.wantPath, e.Path)
			assert.Equal(t, tc.query, e.Query)
			assert.Equal(t, "k-123", e.Headers["Apikey"])
			assert.Equal(t, "a", e.Headers["X-Custom"])
			assert.Equal(t, tc.contentType, e.Headers["Content-Type"])
			assert.Equal(t, "127.0.0.1", e.Headers["X-Forwarded-For"])
			assert.Equal(t, []string{"c=1"}, e.Cookies)
			if e.Files != nil {
				assert.Equal(t, sum(img), e.Files["image"])
				assert.Equal(t, "HIGHEST", e.Fields["threshold"])
			} else {
				assert.Equal(t, sum(tc.body), e.BodySHA)
			}
		})
	}
}

func TestHTTPFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release) // before Close, which waits for the handler

	for _, tc := range []struct {
		name, base string
		timeout    time.Duration
		wantStatus int
	}{
		{"connection refused", closed, time.Second, http.StatusBadGateway},
		{"timeout", slow.URL, 100 * time.Millisecond, http.StatusGatewayTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote, err := handoff.NewHTTP(tc.base, tc.timeout)
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			remote.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v2/liveness", bytes.NewReader([]byte("{}"))))
			assert.Equal(t, tc.wantStatus, rec.Code)
			e := decodeError(t, rec.Body.Bytes())
			assert.Equal(t, fault.CodeGPUUnavailable, e.Code)
			assert.NotEmpty(t, e.ID)
			assert.Equal(t, e.ID, rec.Header().Get("X-Request-Id"))
		})
	}
}
