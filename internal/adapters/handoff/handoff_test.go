package handoff_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/handoff"
	"github.com/facelambda/facelambda/internal/core/fault"
)

// heavyJSON reads the body as the lead's predicate might: heavy when it asks
// for the HIGHEST level.
func heavyJSON(r *http.Request, body []byte) bool {
	b, err := io.ReadAll(r.Body) // reading is allowed: the served request has its own copy
	return err == nil && bytes.Equal(b, body) && bytes.Contains(b, []byte(`"HIGHEST"`))
}

// heavyForm parses the multipart form: heavy when threshold=HIGHEST.
func heavyForm(r *http.Request, _ []byte) bool {
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return false
	}
	defer r.MultipartForm.RemoveAll()
	return r.FormValue("threshold") == "HIGHEST"
}

type counted struct {
	h     http.Handler
	calls atomic.Int32
}

func (c *counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.calls.Add(1)
	c.h.ServeHTTP(w, r)
}

func statusHandler(status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Side", "gpu")
		http.Error(w, `{"id":"x","code":"SOMETHING","message":"from the gpu"}`, status)
	})
}

func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	return u
}

func TestWrapRoutesAndFallsBack(t *testing.T) {
	img := jpegLike(32 << 10)
	form, formType := multipartBody(t, img, "HIGHEST")
	lightForm, lightType := multipartBody(t, img, "LOW")
	refused, err := handoff.NewHTTP(closedURL(t), time.Second)
	require.NoError(t, err)

	for _, tc := range []struct {
		name        string
		remote      http.Handler
		heavy       handoff.Predicate
		contentType string
		body        []byte
		wantBy      string
		wantStatus  int
		wantWarn    bool
	}{
		{"light json stays local", echoHandler("gpu"), heavyJSON, "application/json", []byte(`{"threshold":"LOW"}`), "local", 200, false},
		{"heavy json goes to gpu", echoHandler("gpu"), heavyJSON, "application/json", []byte(`{"threshold":"HIGHEST"}`), "gpu", 200, false},
		{"heavy multipart goes to gpu", echoHandler("gpu"), heavyForm, formType, form, "gpu", 200, false},
		{"light multipart stays local", echoHandler("gpu"), heavyForm, lightType, lightForm, "local", 200, false},
		{"gpu 503 falls back", statusHandler(503), heavyForm, formType, form, "local", 200, true},
		{"gpu 500 falls back", statusHandler(500), heavyForm, formType, form, "local", 200, true},
		{"gpu refused connection falls back", refused, heavyForm, formType, form, "local", 200, true},
		{"gpu 401 is the answer", statusHandler(401), heavyForm, formType, form, "gpu", 401, false},
		{"no remote", nil, heavyForm, formType, form, "local", 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
			defer slog.SetDefault(prev)

			local := &counted{h: echoHandler("local")}
			h := handoff.Wrap(local, tc.heavy, tc.remote, 1<<20)
			req := httptest.NewRequest(http.MethodPost, "/v2/liveness?x=1", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			require.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			assert.Equal(t, tc.wantBy, rec.Header().Get(handoff.HeaderServedBy))
			assert.Equal(t, tc.wantWarn, strings.Contains(logs.String(), "serving locally"), logs.String())
			if tc.wantBy == "local" {
				assert.EqualValues(t, 1, local.calls.Load())
			} else {
				assert.Zero(t, local.calls.Load())
			}
			if tc.wantStatus != 200 {
				return
			}
			e := decodeEcho(t, rec.Body.Bytes())
			assert.Equal(t, tc.wantBy, e.Side)
			assert.Equal(t, "x=1", e.Query)
			if e.Files != nil {
				assert.Equal(t, sum(img), e.Files["image"], "the served request has the whole body")
			} else {
				assert.Equal(t, sum(tc.body), e.BodySHA, "the served request has the whole body")
			}
		})
	}
}

// TestWrapFallsBackOnAbortedBody serves through real servers: the GPU host
// announces a body it does not send, the proxy aborts, Wrap serves locally.
func TestWrapFallsBackOnAbortedBody(t *testing.T) {
	gpu := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"partial\":")
		_ = buf.Flush()
	}))
	defer gpu.Close()
	remote, err := handoff.NewHTTP(gpu.URL, 2*time.Second)
	require.NoError(t, err)
	front := httptest.NewServer(handoff.Wrap(echoHandler("local"), func(*http.Request, []byte) bool { return true }, remote, 1<<20))
	defer front.Close()

	resp, err := http.Post(front.URL+"/v2/liveness", "application/json", strings.NewReader(`{"a":1}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	assert.Equal(t, "local", resp.Header.Get(handoff.HeaderServedBy))
	assert.Equal(t, "local", decodeEcho(t, b).Side)
}

func TestWrapNoFallbackAfterContextEnds(t *testing.T) {
	local := &counted{h: echoHandler("local")}
	ctx, cancel := context.WithCancel(context.Background())
	remote := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel() // the client went away while the GPU worked
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v2/liveness", strings.NewReader("{}"))
	handoff.Wrap(local, func(*http.Request, []byte) bool { return true }, remote, 1<<10).ServeHTTP(rec, req)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "gpu", rec.Header().Get(handoff.HeaderServedBy))
	assert.Zero(t, local.calls.Load())
}

func TestWrapBodyLimit(t *testing.T) {
	const limit = 1000
	for _, tc := range []struct {
		name          string
		size          int
		contentLength bool
		wantStatus    int
	}{
		{"at the limit", limit, true, http.StatusOK},
		{"over, length announced", limit + 1, true, http.StatusRequestEntityTooLarge},
		{"over, chunked", limit + 1, false, http.StatusRequestEntityTooLarge},
		{"empty", 0, true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local, remote := &counted{h: echoHandler("local")}, &counted{h: echoHandler("gpu")}
			var called atomic.Bool
			heavy := func(*http.Request, []byte) bool { called.Store(true); return true }
			srv := httptest.NewServer(handoff.Wrap(local, heavy, remote, limit))
			defer srv.Close()

			body := bytes.Repeat([]byte("a"), tc.size)
			var rd io.Reader = bytes.NewReader(body)
			if !tc.contentLength {
				rd = bufio.NewReader(rd) // unknown length: sent chunked
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/v2/liveness", rd)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			require.Equal(t, tc.wantStatus, resp.StatusCode, string(b))
			if tc.wantStatus == http.StatusOK {
				assert.Equal(t, sum(body), decodeEcho(t, b).BodySHA)
				assert.EqualValues(t, 1, remote.calls.Load())
				return
			}
			e := decodeError(t, b)
			assert.Equal(t, fault.CodeRequestTooLarge, e.Code)
			assert.Contains(t, e.Message, "1000 bytes")
			assert.Equal(t, e.ID, resp.Header.Get("X-Request-Id"))
			assert.False(t, called.Load(), "no predicate on a refused body")
			assert.Zero(t, local.calls.Load()+remote.calls.Load())
		})
	}
}

func TestWrapNoFallbackOption(t *testing.T) {
	local := &counted{h: echoHandler("local")}
	capture := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/liveness-capture") }
	h := handoff.Wrap(local, func(*http.Request, []byte) bool { return true }, statusHandler(http.StatusBadGateway), 1<<10,
		handoff.NoFallback(capture))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v2/bio-sessions/s/liveness-capture", strings.NewReader("zip")))
	assert.Equal(t, http.StatusBadGateway, rec.Code, "a capture the GPU may have spent is not analysed again")
	assert.Equal(t, "gpu", rec.Header().Get(handoff.HeaderServedBy))
	assert.Zero(t, local.calls.Load())

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v2/liveness", strings.NewReader("{}")))
	assert.Equal(t, http.StatusOK, rec.Code, "other requests still fall back")
	assert.Equal(t, int32(1), local.calls.Load())
}
