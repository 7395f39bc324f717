package embedded_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/adapters/store/storetest"
	"github.com/facelambda/facelambda/internal/core/store"
)

// open opens a store in dir, closed after the test.
func open(t *testing.T, dir string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// serve serves s's uploads on a test server and sets BaseURL to it.
func serve(t *testing.T, s *embedded.Store) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(embedded.UploadPath, s.UploadHandler())
	mux.Handle(embedded.DownloadPath, s.DownloadHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.BaseURL = srv.URL
}

// The local store checks its download signatures (S3 does; moto, which the
// s3blob tests run against, does not, so this is not in the conformance
// suite).
func TestDownloadHandler(t *testing.T) {
	now := time.Now()
	s := open(t, t.TempDir())
	serve(t, s)
	s.Now = func() time.Time { return now }
	require.NoError(t, s.Put(t.Context(), "t/s/rec.zip", []byte("recording"), "application/zip"))
	require.NoError(t, s.Put(t.Context(), "t/s/other.zip", []byte("other"), "application/zip"))
	u, err := s.PresignGet(t.Context(), "t/s/rec.zip", time.Minute)
	require.NoError(t, err)
	get := func(u string) int {
		resp, err := http.Get(u)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get(u))
	assert.Equal(t, http.StatusForbidden, get(strings.Replace(u, "rec.zip", "other.zip", 1)), "another key")
	assert.Equal(t, http.StatusForbidden, get(strings.Replace(u, "signature=", "signature=00", 1)), "a bad signature")
	now = now.Add(2 * time.Minute)
	assert.Equal(t, http.StatusForbidden, get(u), "expired")
	now = now.Add(-2 * time.Minute)
	require.NoError(t, s.Delete(t.Context(), "t/s/rec.zip"))
	assert.Equal(t, http.StatusNotFound, get(u), "deleted object")
}

func TestRecords(t *testing.T) {
	storetest.Records(t, func(t *testing.T) store.Records {
		return open(t, t.TempDir())
	})
}

func TestBlobs(t *testing.T) {
	storetest.Blobs(t, func(t *testing.T) store.Blobs {
		s := open(t, t.TempDir())
		serve(t, s)
		return s
	})
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := embedded.Open(dir)
	require.NoError(t, err)
	s.BaseURL = "http://127.0.0.1:1"

	now := time.Now()
	sess := store.Session{Tenant: "t1", ID: "s1", Created: now, Expires: now.Add(time.Hour), Data: []byte(`{}`)}
	require.NoError(t, s.CreateSession(ctx, sess))
	face, err := s.PutFace(ctx, store.Face{Tenant: "t1", SessionID: "s1", ID: "f1", Template: []byte{1, 2, 3}})
	require.NoError(t, err)
	expired := store.Session{Tenant: "t1", ID: "s2", Created: now, Expires: now.Add(time.Second)}
	require.NoError(t, s.CreateSession(ctx, expired))
	key := store.APIKey{Hash: "abc", Tenant: "t1", Name: "k", Scopes: []string{"a"}, Created: now}
	require.NoError(t, s.PutAPIKey(ctx, key))
	require.NoError(t, s.Put(ctx, "t1/s1/f1.jpg", []byte("jpeg"), "image/jpeg"))
	presigned, err := s.PresignPut(ctx, "t1/s1/upload.jpg", "image/jpeg", 100, time.Hour)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// Reopen an hour and a half later.
	s2 := open(t, dir)
	s2.Now = func() time.Time { return now.Add(30 * time.Minute) }
	got, err := s2.GetSession(ctx, "t1", "s1")
	require.NoError(t, err)
	assert.True(t, got.Expires.Equal(sess.Expires))
	gotFace, err := s2.GetFace(ctx, "t1", "s1", "f1")
	require.NoError(t, err)
	assert.Equal(t, face.Template, gotFace.Template)
	_, err = s2.GetSession(ctx, "t1", "s2")
	require.ErrorIs(t, err, store.ErrNotFound)
	gotKey, err := s2.GetAPIKey(ctx, "abc")
	require.NoError(t, err)
	assert.Equal(t, key.Scopes, gotKey.Scopes)
	data, ct, err := s2.Get(ctx, "t1/s1/f1.jpg")
	require.NoError(t, err)
	assert.Equal(t, "jpeg", string(data))
	assert.Equal(t, "image/jpeg", ct)

	// The upload secret survived: a URL signed before the restart works.
	srv := httptest.NewServer(s2.UploadHandler())
	t.Cleanup(srv.Close)
	u, err := url.Parse(presigned)
	require.NoError(t, err)
	resp := put(t, srv.URL+u.RequestURI(), "image/jpeg", []byte("up"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	data, _, err = s2.Get(ctx, "t1/s1/upload.jpg")
	require.NoError(t, err)
	assert.Equal(t, "up", string(data))
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	_, err := embedded.Open(dir)
	require.Error(t, err, "a second Open of the same directory")
}

// TestPurgeOnOpen checks Open removes what expired, as DynamoDB's TTL
// does: written with a clock two hours back, the records are gone after a
// reopen even when read with that clock again.
func TestPurgeOnOpen(t *testing.T) {
	dir := t.TempDir()
	past := time.Now().Add(-2 * time.Hour)
	s, err := embedded.Open(dir)
	require.NoError(t, err)
	s.Now = func() time.Time { return past }
	sess := store.Session{Tenant: "t1", ID: "s1", Created: past, Expires: past.Add(time.Hour)}
	require.NoError(t, s.CreateSession(t.Context(), sess))
	_, err = s.PutFace(t.Context(), store.Face{Tenant: "t1", SessionID: "s1", ID: "f1"})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s2 := open(t, dir)
	s2.Now = func() time.Time { return past }
	_, err = s2.GetSession(t.Context(), "t1", "s1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s2.GetFace(t.Context(), "t1", "s1", "f1")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestHostileKeys(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	serve(t, s)
	ctx := t.Context()
	outside := filepath.Join(filepath.Dir(dir), "outside-"+filepath.Base(dir))
	t.Cleanup(func() { os.RemoveAll(outside) })

	keys := []string{
		"", "../x", "../../etc/passwd", "/etc/passwd", "a/../../x", "a/./b", "a//b", "a/b/",
		"a\\b", "a b", "a%2fb", "..", ".", "a/..", "C:x", "t/s/\x00.jpg", "t/s/é.jpg",
		strings.Repeat("a", 1025),
	}
	for _, key := range keys {
		name := key
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		t.Run(name, func(t *testing.T) {
			assert.Error(t, s.Put(ctx, key, []byte("x"), "image/jpeg"))
			_, _, err := s.Get(ctx, key)
			assert.ErrorIs(t, err, store.ErrNotFound)
			assert.Error(t, s.Delete(ctx, key))
			_, err = s.PresignPut(ctx, key, "image/jpeg", 10, time.Minute)
			assert.Error(t, err)
		})
	}
	for _, prefix := range []string{"", "/", "../", "..", "a/../", "/etc", "a//"} {
		t.Run("prefix "+prefix, func(t *testing.T) {
			assert.Error(t, s.DeletePrefix(ctx, prefix))
		})
	}
	_, err := os.Stat(outside)
	assert.ErrorIs(t, err, os.ErrNotExist)

	// Paths escaping the upload directory are refused by the handler too.
	for _, p := range []string{"/v2/uploads/../records.db", "/v2/uploads/%2e%2e/x", "/v2/uploads/a//b"} {
		resp := put(t, s.BaseURL+p+"?expires=9999999999&contentType=&maxBytes=0&signature=00", "", []byte("x"))
		assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound, http.StatusMovedPermanently,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect}, resp.StatusCode, p)
	}
	info, err := os.Stat(filepath.Join(dir, "records.db"))
	require.NoError(t, err)
	assert.Greater(t, info.Size(), int64(1))
}

func TestKeysAreFilesInsideBlobs(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	require.NoError(t, s.Put(t.Context(), "t1/s1/f.jpg", []byte("x"), "image/jpeg"))
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "t1", "s1", "f.jpg"))
	require.NoError(t, err)
	assert.Equal(t, "FLB1\x00\x0aimage/jpegx", string(b), "content type and data in the file (no sealer)")

	require.NoError(t, s.DeletePrefix(t.Context(), "t1/"))
	entries, err := os.ReadDir(filepath.Join(dir, "blobs"))
	require.NoError(t, err)
	assert.Empty(t, entries, "empty directories are removed")
}

func put(t *testing.T, u, contentType string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, u, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestUploadHandler(t *testing.T) {
	now := time.Now()
	s := open(t, t.TempDir())
	serve(t, s)
	s.Now = func() time.Time { return now }
	ctx := t.Context()

	sign := func(key, contentType string, maxBytes int64, ttl time.Duration) string {
		u, err := s.PresignPut(ctx, key, contentType, maxBytes, ttl)
		require.NoError(t, err)
		return u
	}
	tamper := func(u, param, value string) string {
		parsed, err := url.Parse(u)
		require.NoError(t, err)
		q := parsed.Query()
		q.Set(param, value)
		parsed.RawQuery = q.Encode()
		return parsed.String()
	}
	valid := sign("t/s/a.jpg", "image/jpeg", 10, time.Minute)

	tests := []struct {
		name        string
		url         string
		method      string
		contentType string
		body        []byte
		want        int
		stored      string // key expected to hold body afterwards
	}{
		{"ok", valid, http.MethodPut, "image/jpeg", []byte("0123456789"), http.StatusOK, "t/s/a.jpg"},
		{"bad signature", tamper(valid, "signature", strings.Repeat("00", 32)), http.MethodPut, "image/jpeg", []byte("x"), http.StatusForbidden, ""},
		{"no signature", tamper(valid, "signature", ""), http.MethodPut, "image/jpeg", []byte("x"), http.StatusForbidden, ""},
		{"raised maxBytes", tamper(valid, "maxBytes", "1000"), http.MethodPut, "image/jpeg", []byte("x"), http.StatusForbidden, ""},
		{"extended expiry", tamper(valid, "expires", "9999999999"), http.MethodPut, "image/jpeg", []byte("x"), http.StatusForbidden, ""},
		{"other content type in URL", tamper(valid, "contentType", "text/html"), http.MethodPut, "text/html", []byte("x"), http.StatusForbidden, ""},
		{"other key", strings.Replace(valid, "t/s/a.jpg", "t/s/b.jpg", 1), http.MethodPut, "image/jpeg", []byte("x"), http.StatusForbidden, ""},
		{"other content type sent", valid, http.MethodPut, "text/html", []byte("x"), http.StatusForbidden, ""},
		{"expired", sign("t/s/c.jpg", "image/jpeg", 10, time.Nanosecond), http.MethodPut, "image/jpeg", []byte("x"), 0, ""},
		{"too large", sign("t/s/d.jpg", "image/jpeg", 10, time.Minute), http.MethodPut, "image/jpeg", []byte("0123456789A"), http.StatusRequestEntityTooLarge, ""},
		{"no limit", sign("t/s/e.bin", "", 0, time.Minute), http.MethodPut, "application/x-anything", bytes.Repeat([]byte("x"), 1<<20), http.StatusOK, "t/s/e.bin"},
		{"GET", valid, http.MethodGet, "", nil, http.StatusMethodNotAllowed, ""},
		{"outside upload path", s.BaseURL + "/v2/other/t/s/a.jpg", http.MethodPut, "image/jpeg", []byte("x"), http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "expired" {
				// Signed for a nanosecond: a second later it is over.
				s.Now = func() time.Time { return now.Add(2 * time.Second) }
				defer func() { s.Now = func() time.Time { return now } }()
				tc.want = http.StatusForbidden
			}
			req, err := http.NewRequestWithContext(ctx, tc.method, tc.url, bytes.NewReader(tc.body))
			require.NoError(t, err)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equalf(t, tc.want, resp.StatusCode, "%s", msg)
			if tc.stored != "" {
				data, ct, err := s.Get(ctx, tc.stored)
				require.NoError(t, err)
				assert.Equal(t, tc.body, data)
				assert.Equal(t, tc.contentType, ct)
			}
		})
	}
	for _, key := range []string{"t/s/b.jpg", "t/s/c.jpg", "t/s/d.jpg"} {
		_, _, err := s.Get(ctx, key)
		assert.ErrorIsf(t, err, store.ErrNotFound, "%s must not be stored", key)
	}

	// A body over maxBytes without Content-Length (chunked) is cut off.
	u := sign("t/s/f.jpg", "image/jpeg", 10, time.Minute)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, io.MultiReader(strings.NewReader("0123456"), strings.NewReader("789ABC")))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "image/jpeg")
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	_, _, err = s.Get(ctx, "t/s/f.jpg")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestPresignPutNeedsBaseURL(t *testing.T) {
	s := open(t, t.TempDir())
	_, err := s.PresignPut(t.Context(), "t/s/a.jpg", "image/jpeg", 10, time.Minute)
	assert.Error(t, err)
}

func TestClasses(t *testing.T) {
	storetest.Classes(t, func(t *testing.T) store.Classes {
		return open(t, t.TempDir())
	})
}

// OnUpload hears of every object stored through an upload URL, as S3's
// object-created notifications do; refused uploads are not reported.
func TestOnUpload(t *testing.T) {
	s := open(t, t.TempDir())
	serve(t, s)
	got := make(chan string, 2)
	s.OnUpload = func(key string) { got <- key }
	u, err := s.PresignPut(t.Context(), "liveness-uploads/t/s/r.zip", "application/zip", 1<<10, time.Minute)
	require.NoError(t, err)
	put := func(body []byte, ct string) int {
		req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ct)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, put([]byte("zip"), "text/plain"))
	assert.Equal(t, http.StatusRequestEntityTooLarge, put(bytes.Repeat([]byte("z"), 2<<10), "application/zip"))
	assert.Empty(t, got, "refused uploads are not reported")
	assert.Equal(t, http.StatusOK, put([]byte("zip"), "application/zip"))
	assert.Equal(t, "liveness-uploads/t/s/r.zip", <-got)
}
