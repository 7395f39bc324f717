package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/app/apptest"
	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// api is the three functions on one test server, as API Gateway routes them.
type api struct {
	t    testing.TB
	srv  *httptest.Server
	d    *httpapi.Deps
	st   *embedded.Store
	key  string // tenant acme, all scopes
	jwks signing.JWKS
	// image is fixture, or fakeFixture on the fake engine.
	image func(t testing.TB, name string) []byte
}

func newAPI(t testing.TB) *api {
	t.Helper()
	return apiOf(t, graph(t, app.Everything), fixture)
}

// newFakeAPI is newAPI on the fake face engine (fakeDeps).
func newFakeAPI(t testing.TB) *api {
	t.Helper()
	return apiOf(t, graph(t, apptest.Fake(app.Everything)), fakeFixture)
}

func apiOf(t testing.TB, g *app.Graph, image func(testing.TB, string) []byte) *api {
	t.Helper()
	d := g.Deps
	a := &api{t: t, d: d, st: g.Embedded, key: testKey, image: image}
	mux := http.NewServeMux()
	for _, h := range []http.Handler{httpapi.SessionHandler(d), httpapi.FaceHandler(d), httpapi.MatchHandler(d), httpapi.EnrollHandler(d), httpapi.LivenessHandler(d)} {
		for _, r := range httpapi.Routes(h) {
			mux.Handle(r.Method+" "+r.Path, h)
		}
	}
	mux.Handle("PUT /v2/uploads/{key...}", a.st.UploadHandler())
	mux.Handle("GET /v2/downloads/{key...}", a.st.DownloadHandler())
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	a.st.BaseURL = a.srv.URL
	res, body := a.call("GET", "/v2/.well-known/jwks.json", "", nil, "")
	require.Equal(t, 200, res.StatusCode)
	require.NoError(t, json.Unmarshal(body, &a.jwks))
	require.Len(t, a.jwks.Keys, 1)
	return a
}

func (a *api) keyFor(tenant string, scopes ...string) string {
	if len(scopes) == 0 {
		scopes = []string{auth.ScopeAll}
	}
	k, _, err := auth.Create(context.Background(), a.st, tenant, "test", scopes, time.Now())
	require.NoError(a.t, err)
	return k
}

func (a *api) call(method, path, ct string, body []byte, key string) (*http.Response, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, bytes.NewReader(body))
	require.NoError(a.t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if key != "" {
		req.Header.Set("apikey", key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	return res, out
}

// object calls and decodes a JSON object, checking the status.
func (a *api) object(method, path, ct string, body []byte, key string, status int) map[string]any {
	a.t.Helper()
	res, out := a.call(method, path, ct, body, key)
	require.Equal(a.t, status, res.StatusCode, "%s %s: %s", method, path, out)
	var m map[string]any
	require.NoError(a.t, json.Unmarshal(out, &m), "%s", out)
	return m
}

// verified checks a resource's signature with the published JWKS and that
// the signed payload is the resource without its signature.
func (a *api) verified(m map[string]any) {
	a.t.Helper()
	sig, _ := m["signature"].(string)
	require.NotEmpty(a.t, sig, "resource is signed")
	payload, err := signing.Verify(sig, a.jwks)
	require.NoError(a.t, err)
	rest := map[string]any{}
	for k, v := range m {
		if k != "signature" {
			rest[k] = v
		}
	}
	want, _ := json.Marshal(rest)
	assert.JSONEq(a.t, string(want), string(payload))
}

func (a *api) session(key string, body string) map[string]any {
	return a.object("POST", "/v2/bio-sessions", "application/json", []byte(body), key, 201)
}

func (a *api) addFace(key, sid, name string) map[string]any {
	ct, body := multipartBody(a.t, "form-data", part{"image", "image/jpeg", a.image(a.t, name)})
	return a.object("POST", "/v2/bio-sessions/"+sid+"/faces", ct, body, key, 201)
}

func TestAuthentication(t *testing.T) {
	a := newFakeAPI(t)
	for _, tc := range []struct {
		name, key string
		status    int
		code      string
	}{
		{"no key", "", 401, fault.CodeUnauthenticated},
		{"unknown key", "fl_not-a-key", 401, fault.CodeUnauthenticated},
		{"read-only key", a.keyFor("acme", auth.ScopeSessionRead), 403, fault.CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := a.object("POST", "/v2/bio-sessions", "application/json", []byte(`{}`), tc.key, tc.status)
			assert.Equal(t, tc.code, m["code"])
			assert.NotEmpty(t, m["id"])
		})
	}
	// Bearer works as well as apikey.
	req, _ := http.NewRequest("GET", a.srv.URL+"/v2/capabilities", nil)
	req.Header.Set("Authorization", "Bearer "+a.key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)
	caps := a.object("GET", "/v2/capabilities", "", nil, a.key, 200)
	live := caps["liveness"].(map[string]any)
	assert.Len(t, live["passiveLevels"], 8)
	assert.Len(t, live["activeSecurityLevels"], 8)
	assert.Equal(t, []any{"LIVENESS_MEDIUM", "LIVENESS_HIGH"}, live["livenessModes"])
	assert.Contains(t, live["challenges"], "BLINK")
	// Monitor and JWKS need no key.
	m := a.object("GET", "/v2/monitor", "", nil, "", 200)
	assert.Equal(t, "ok", m["status"])
}

func TestSessionLifecycle(t *testing.T) {
	a := newFakeAPI(t)
	res, out := a.call("POST", "/v2/bio-sessions", "application/json",
		[]byte(`[{"correlationId":"c-9","imageStorageEnabled":true,"ttlSeconds":120}]`), a.key)
	require.Equal(t, 201, res.StatusCode, "%s", out)
	var s map[string]any
	require.NoError(t, json.Unmarshal(out, &s))
	sid := s["id"].(string)
	assert.Equal(t, "/v2/bio-sessions/"+sid, res.Header.Get("Location"))
	assert.NotEmpty(t, res.Header.Get("X-Request-Id"))
	assert.Equal(t, "c-9", s["correlationId"])
	assert.EqualValues(t, 120, s["ttlSeconds"])
	a.verified(s)

	got := a.object("GET", "/v2/bio-sessions/"+sid, "", nil, a.key, 200)
	a.verified(got)
	assert.Equal(t, s["expires"], got["expires"])

	// Another tenant sees nothing: 404, as for a missing session.
	other := a.keyFor("globex")
	for _, p := range []string{"/v2/bio-sessions/" + sid, "/v2/bio-sessions/" + sid + "/faces"} {
		m := a.object("GET", p, "", nil, other, 404)
		assert.Equal(t, fault.CodeNotFound, m["code"])
	}
	a.object("DELETE", "/v2/bio-sessions/"+sid, "", nil, other, 404)

	// Faces: from an image, and from a face JSON with a template.
	f1 := a.addFace(a.key, sid, "obama.jpg")
	a.verified(f1)
	assert.Equal(t, "c-9", f1["correlationId"], "the session's correlationId is kept")
	fromTpl := a.object("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", jsonBody(t, map[string]any{
		"template": f1["template"], "imageType": "SELFIE", "friendlyName": "copy", "templateVersion": 1}), a.key, 201)
	assert.Equal(t, f1["template"], fromTpl["template"])
	f2 := a.addFace(a.key, sid, "obama2.jpg")
	bid := a.addFace(a.key, sid, "biden.jpg")["id"].(string)

	res, out = a.call("GET", "/v2/bio-sessions/"+sid+"/faces", "", nil, a.key)
	require.Equal(t, 200, res.StatusCode)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(out, &list))
	require.Len(t, list, 4)
	assert.Equal(t, f1["id"], list[0]["id"], "oldest first")
	for _, f := range list {
		a.verified(f)
	}

	// Matches: the reference against every other face, best first.
	res, out = a.call("GET", "/v2/bio-sessions/"+sid+"/faces/"+f1["id"].(string)+"/matches?level=HIGH", "", nil, a.key)
	require.Equal(t, 200, res.StatusCode, "%s", out)
	var ms []map[string]any
	require.NoError(t, json.Unmarshal(out, &ms))
	require.Len(t, ms, 3)
	assert.Equal(t, fromTpl["id"], ms[0]["candidate"].(map[string]any)["id"], "the identical template first")
	assert.Equal(t, f2["id"], ms[1]["candidate"].(map[string]any)["id"])
	assert.Equal(t, true, ms[1]["possibleMatch"])
	assert.Equal(t, bid, ms[2]["candidate"].(map[string]any)["id"])
	assert.Equal(t, false, ms[2]["possibleMatch"])
	for _, m := range ms {
		a.verified(m)
		assert.Equal(t, "c-9", m["correlationId"])
		assert.Equal(t, s["expires"], m["expires"])
	}
	assert.GreaterOrEqual(t, ms[0]["score"], ms[1]["score"])

	// The stored image, as sent and as a JPEG.
	res, img := a.call("GET", "/v2/bio-sessions/"+sid+"/faces/"+f1["id"].(string)+"/image", "", nil, a.key)
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, a.image(t, "obama.jpg"), img)
	res, img = a.call("GET", "/v2/bio-sessions/"+sid+"/faces/"+f1["id"].(string)+"/image?compression=true", "", nil, a.key)
	require.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "image/jpeg", res.Header.Get("Content-Type"))
	_, err := jpeg.Decode(bytes.NewReader(img))
	require.NoError(t, err)
	res, _ = a.call("GET", "/v2/bio-sessions/"+sid+"/faces/"+f1["id"].(string)+"/image", "", nil, other)
	assert.Equal(t, 404, res.StatusCode)

	// Delete one face, then the session: everything is gone.
	res, _ = a.call("DELETE", "/v2/bio-sessions/"+sid+"/faces/"+bid, "", nil, a.key)
	assert.Equal(t, 204, res.StatusCode)
	a.object("GET", "/v2/bio-sessions/"+sid+"/faces/"+bid, "", nil, a.key, 404)
	res, _ = a.call("DELETE", "/v2/bio-sessions/"+sid, "", nil, a.key)
	assert.Equal(t, 204, res.StatusCode)
	a.object("GET", "/v2/bio-sessions/"+sid, "", nil, a.key, 404)
	a.object("GET", "/v2/bio-sessions/"+sid+"/faces/"+f1["id"].(string), "", nil, a.key, 404)
	_, _, err = a.st.Get(context.Background(), httpapi.FaceImageKey("acme", sid, f1["id"].(string)))
	assert.Error(t, err, "the image is deleted with the session")
}

func TestSessionRequests(t *testing.T) {
	a := newFakeAPI(t)
	a.d.Config.AllowHTTPCallbacks = false // as in Lambda: http:// callbacks are refused
	for _, tc := range []struct {
		name, ct, body string
		status         int
	}{
		{"ttl above max", "application/json", `{"ttlSeconds": 999999999}`, 400},
		{"negative ttl", "application/json", `{"ttlSeconds": -5}`, 400},
		{"ttl that overflows a duration", "application/json", `{"ttlSeconds": 18446744074}`, 400},
		{"ttl not a number", "application/json", `{"ttlSeconds": "soon"}`, 400},
		{"bad json", "application/json", `{"ttlSeconds":`, 400},
		{"array of two", "application/json", `[{},{}]`, 400},
		{"http callback", "application/json", `{"callbackURL":"http://example.com/cb"}`, 400},
		{"relative callback", "application/json", `{"callbackURL":"/cb"}`, 400},
		{"wrong content type", "text/plain", `{}`, 415},
		{"defaults", "application/json", `{}`, 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := a.object("POST", "/v2/bio-sessions", tc.ct, []byte(tc.body), a.key, tc.status)
			if tc.status == 201 {
				assert.EqualValues(t, 300, m["ttlSeconds"])
				assert.Equal(t, false, m["imageStorageEnabled"])
			} else {
				assert.NotEmpty(t, m["message"])
			}
		})
	}
	// Unknown and malformed ids are 404s.
	a.object("GET", "/v2/bio-sessions/nope", "", nil, a.key, 404)
	a.object("POST", "/v2/bio-sessions/nope/faces", "application/json", []byte(`{}`), a.key, 404)
}

func TestImageStorageOffAndExpiry(t *testing.T) {
	a := newFakeAPI(t)
	sid := a.session(a.key, `{"ttlSeconds":2}`)["id"].(string)
	f := a.addFace(a.key, sid, "obama.jpg")
	res, body := a.call("GET", "/v2/bio-sessions/"+sid+"/faces/"+f["id"].(string)+"/image", "", nil, a.key)
	assert.Equal(t, 204, res.StatusCode, "no image without storage (seed 000)")
	assert.Empty(t, body)
	time.Sleep(2100 * time.Millisecond)
	a.object("GET", "/v2/bio-sessions/"+sid, "", nil, a.key, 404)
	a.object("GET", "/v2/bio-sessions/"+sid+"/faces/"+f["id"].(string), "", nil, a.key, 404)
	ct, b := multipartBody(t, "form-data", part{"image", "image/jpeg", a.image(t, "obama.jpg")})
	a.object("POST", "/v2/bio-sessions/"+sid+"/faces", ct, b, a.key, 404)
}

func TestUploadThenCreateFace(t *testing.T) {
	a := newFakeAPI(t)
	sid := a.session(a.key, `{}`)["id"].(string)
	up := a.object("POST", "/v2/uploads", "application/json", []byte(`{"contentType":"image/jpeg"}`), a.key, 201)
	key := up["key"].(string)
	req, _ := http.NewRequest("PUT", up["url"].(string), bytes.NewReader(a.image(t, "obama2.jpg")))
	req.Header.Set("Content-Type", "image/jpeg")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)

	// Another tenant cannot use the key.
	other := a.keyFor("globex")
	osid := a.session(other, `{}`)["id"].(string)
	a.object("POST", "/v2/bio-sessions/"+osid+"/faces", "application/json", jsonBody(t, map[string]any{"imageKey": key}), other, 404)

	f := a.object("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", jsonBody(t, map[string]any{"imageKey": key}), a.key, 201)
	assert.Len(t, f["digest"], 64)
	// The upload is consumed.
	used := a.object("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", jsonBody(t, map[string]any{"imageKey": key}), a.key, 410)
	assert.Equal(t, fault.CodeUploadUsed, used["code"])
	a.object("POST", "/v2/uploads", "application/json", []byte(`{"contentType":"application/pdf"}`), a.key, 415)
}

// One upload key used by concurrent face creations makes one face; the
// other requests get 410 UPLOAD_ALREADY_USED (they all got 200 before the
// upload was claimed).
func TestUploadUsedOnce(t *testing.T) {
	a := newFakeAPI(t)
	sid := a.session(a.key, `{}`)["id"].(string)
	up := a.object("POST", "/v2/uploads", "application/json", []byte(`{"contentType":"image/jpeg"}`), a.key, 201)
	req, _ := http.NewRequest("PUT", up["url"].(string), bytes.NewReader(a.image(t, "obama2.jpg")))
	req.Header.Set("Content-Type", "image/jpeg")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)

	body := jsonBody(t, map[string]any{"imageKey": up["key"]})
	const n = 10
	statuses := make([]int, n)
	codes := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, out := a.call("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", body, a.key)
			statuses[i] = res.StatusCode
			var m map[string]any
			if json.Unmarshal(out, &m) == nil {
				codes[i] = m["code"]
			}
		}()
	}
	wg.Wait()
	created := 0
	for i, st := range statuses {
		if st == 201 {
			created++
			continue
		}
		assert.Equal(t, 410, st)
		assert.Equal(t, fault.CodeUploadUsed, codes[i])
	}
	assert.Equal(t, 1, created, "statuses %v", statuses)
	res, out := a.call("GET", "/v2/bio-sessions/"+sid+"/faces", "", nil, a.key)
	require.Equal(t, 200, res.StatusCode)
	var faces []map[string]any
	require.NoError(t, json.Unmarshal(out, &faces))
	assert.Len(t, faces, 1, "one face from one upload")
}

func TestConcurrentFacesAndDeletion(t *testing.T) {
	a := newFakeAPI(t)
	sid := a.session(a.key, `{"imageStorageEnabled":true}`)["id"].(string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var created []string
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ct, body := multipartBody(t, "form-data", part{"image", "image/jpeg", a.image(t, "obama-240p.jpg")})
			req, _ := http.NewRequest("POST", a.srv.URL+"/v2/bio-sessions/"+sid+"/faces", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("apikey", a.key)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			var f struct{ ID string }
			if res.StatusCode != 201 || json.NewDecoder(res.Body).Decode(&f) != nil {
				errs <- fmt.Errorf("status %d", res.StatusCode)
				return
			}
			mu.Lock()
			created = append(created, f.ID)
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	res, out := a.call("GET", "/v2/bio-sessions/"+sid+"/faces", "", nil, a.key)
	require.Equal(t, 200, res.StatusCode)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(out, &list))
	assert.Len(t, list, len(created), "no face lost")

	// Deleting the session while faces are being added leaves no orphan.
	var wg2 sync.WaitGroup
	statuses := make(chan int, 6)
	for i := 0; i < 6; i++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			ct, body := multipartBody(t, "form-data", part{"image", "image/jpeg", a.image(t, "obama-240p.jpg")})
			r, _ := a.call("POST", "/v2/bio-sessions/"+sid+"/faces", ct, body, a.key)
			statuses <- r.StatusCode
		}()
	}
	res, _ = a.call("DELETE", "/v2/bio-sessions/"+sid, "", nil, a.key)
	assert.Equal(t, 204, res.StatusCode)
	wg2.Wait()
	close(statuses)
	for s := range statuses {
		assert.Contains(t, []int{201, 404}, s)
	}
	_, err := a.st.ListFaces(context.Background(), "acme", sid)
	assert.Error(t, err)
	for _, id := range created {
		_, err := a.st.GetFace(context.Background(), "acme", sid, id)
		assert.Error(t, err)
	}
	assert.False(t, errors.Is(nil, err))
}

func TestMonitorReportsFailure(t *testing.T) {
	d := fakeDeps(t)
	d.ModelsReady = func(context.Context) error { return errors.New("model file missing") }
	h := httpapi.SessionHandler(d)
	req := httptest.NewRequest("GET", "/v2/monitor", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, 503, rec.Code)
	var m map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
	assert.Equal(t, "error", m["status"])
	assert.Equal(t, "error", m["components"].(map[string]any)["models"])
	assert.Equal(t, "ok", m["components"].(map[string]any)["records"])
}
