package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/webhook"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// errorOf decodes an error object.
func errorOf(t *testing.T, b []byte) httpapi.ErrorBody {
	t.Helper()
	var e httpapi.ErrorBody
	require.NoError(t, json.Unmarshal(b, &e), "%s", b)
	return e
}

// TestSeedCurlMultipartMixed sends what seed 000's command sends
// (curl -H 'Content-Type: multipart/mixed' -F face=@f.json -F image=@x.jpg:
// parts named by "attachment; name=...", the JSON as octet-stream), in both
// orders: the face JSON is kept (an ID_DOCUMENT stays one), neither order
// answers 415.
func TestSeedCurlMultipartMixed(t *testing.T) {
	a := newFakeAPI(t)
	sess := a.object("POST", "/v2/bio-sessions", "application/json", []byte(`{}`), a.key, 201)
	img := a.image(t, "obama.jpg")
	faceJSON := []byte(`{"imageType":"ID_DOCUMENT","friendlyName":"passport"}` + "\n")
	face := part{"", "application/octet-stream", faceJSON}
	image := part{"", "image/jpeg", img}
	for _, tc := range []struct {
		name  string
		parts []part
	}{
		{"face first", []part{face, image}},
		{"image first", []part{image, face}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, body := mixedAttachments(t, map[int]string{0: nameOf(tc.parts[0], face), 1: nameOf(tc.parts[1], face)}, tc.parts...)
			for _, path := range []string{"/v2/faces", "/v2/bio-sessions/" + sess["id"].(string) + "/faces"} {
				res, out := a.call("POST", path, ct, body, a.key)
				require.Less(t, res.StatusCode, 300, "%s: %s", path, out)
				var m map[string]any
				require.NoError(t, json.Unmarshal(out, &m))
				assert.Equal(t, "ID_DOCUMENT", m["imageType"], path)
				assert.Equal(t, "passport", m["friendlyName"], path)
			}
		})
	}
}

func nameOf(p, face part) string {
	if bytes.Equal(p.body, face.body) {
		return "face"
	}
	return "image"
}

// mixedAttachments writes parts as curl -F does under a multipart/mixed
// Content-Type: Content-Disposition "attachment; name=...; filename=...".
func mixedAttachments(t *testing.T, names map[int]string, parts ...part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	bnd := "------------------------63b8b23c235f6f13"
	for i, p := range parts {
		buf.WriteString("--" + bnd + "\r\nContent-Disposition: attachment; name=\"" + names[i] + "\"; filename=\"f\"\r\nContent-Type: " + p.contentType + "\r\n\r\n")
		buf.Write(p.body)
		buf.WriteString("\r\n")
	}
	buf.WriteString("--" + bnd + "--\r\n")
	return "multipart/mixed; boundary=" + bnd, buf.Bytes()
}

// TestRequestFieldRules: unknown members name the field (the seeds'
// accepted-and-ignored ones excepted), over-long text is FIELD_TOO_LONG,
// duplicate parts and conflicting cut-offs are refused, booleans in the
// query are strict.
func TestRequestFieldRules(t *testing.T) {
	a := newAPI(t)
	sess := a.object("POST", "/v2/bio-sessions", "application/json", []byte(`{}`), a.key, 201)["id"].(string)
	a.object("POST", "/v2/galleries", "application/json", []byte(`{"name":"g"}`), a.key, 201)
	img := a.image(t, "obama.jpg")
	dupCT, dupBody := multipartBody(t, "form-data", part{"image", "image/jpeg", img}, part{"image", "image/jpeg", img})
	dupFaceCT, dupFaceBody := multipartBody(t, "form-data", part{"face", "application/json", []byte(`{"imageType":"SELFIE"}`)},
		part{"face", "application/json", []byte(`{"imageType":"ID_DOCUMENT"}`)}, part{"image", "image/jpeg", img})
	long := strings.Repeat("z", 300)
	for _, tc := range []struct {
		name, method, path, ct, body string
		status                       int
		code, field                  string
	}{
		{"ttl unknown", "POST", "/v2/bio-sessions", "application/json", `{"ttl":60}`, 400, fault.CodeUnknownField, "ttl"},
		{"ttlSeconds twice", "POST", "/v2/bio-sessions", "application/json", `{"ttlSeconds":60,"ttlSeconds":600}`, 400, fault.CodeDuplicateField, "ttlSeconds"},
		{"session correlationId", "POST", "/v2/bio-sessions", "application/json", `{"correlationId":"` + long + `"}`, 400, fault.CodeFieldTooLong, "correlationId"},
		{"face friendlyName", "POST", "/v2/faces", "application/json", `{"image":"AAAA","friendlyName":"` + long + `"}`, 400, fault.CodeFieldTooLong, "friendlyName"},
		{"face unknown", "POST", "/v2/faces", "application/json", `{"image":"AAAA","colour":"red"}`, 400, fault.CodeUnknownField, "colour"},
		{"face part unknown", "POST", "/v2/faces", "application/json", `{"image":"AAAA","face":{"imageType":"SELFIE","ttl":1}}`, 400, fault.CodeUnknownField, "face.ttl"},
		{"face part friendlyName", "POST", "/v2/faces", "application/json", `{"image":"AAAA","face":{"friendlyName":"` + long + `"}}`, 400, fault.CodeFieldTooLong, "face.friendlyName"},
		{"duplicate image parts", "POST", "/v2/faces", dupCT, string(dupBody), 400, fault.CodeDuplicateField, "image"},
		{"duplicate face parts", "POST", "/v2/bio-sessions/" + sess + "/faces", dupFaceCT, string(dupFaceBody), 400, fault.CodeDuplicateField, "face"},
		{"match correlationId", "POST", "/v2/match/images", "application/json", `{"referenceImage":"AAAA","candidateImage":"AAAA","correlationId":"` + long + `"}`, 400, fault.CodeFieldTooLong, "correlationId"},
		{"reference unknown", "POST", "/v2/match", "application/json", `{"candidateImage":"AAAA","reference":{"template":"AAAA","zz":1}}`, 400, fault.CodeUnknownField, "reference.zz"},
		{"reference friendlyName", "POST", "/v2/match", "application/json", `{"candidateImage":"AAAA","referenceFace":{"template":"AAAA","friendlyName":"` + long + `"}}`, 400, fault.CodeFieldTooLong, "referenceFace.friendlyName"},
		{"identify level and minScore", "POST", "/v2/galleries/g/identify", "application/json", `{"image":"AAAA","level":"HIGH","minScore":3000}`, 400, fault.CodeConflictingFields, "level,minScore"},
		{"identify level and FAR", "POST", "/v2/galleries/g/identify", "application/json", `{"image":"AAAA","level":"HIGH","maxFalseAcceptanceRate":0.001}`, 400, fault.CodeConflictingFields, "level,maxFalseAcceptanceRate"},
		{"enrol unknown", "POST", "/v2/enroll/5", "application/json", `[{"image":"AAAA","name":"x"}]`, 400, fault.CodeUnknownField, "images[0].name"},
		{"gallery description", "POST", "/v2/galleries", "application/json", `{"name":"h","description":"` + strings.Repeat("d", 1100) + `"}`, 400, fault.CodeFieldTooLong, "description"},
		{"liveness unknown", "POST", "/v2/liveness", "application/json", `{"image":"AAAA","thresh":"HIGH"}`, 400, fault.CodeUnknownField, "thresh"},
		{"compression maybe", "GET", "/v2/bio-sessions/" + sess + "/faces/x/image?compression=maybe", "", "", 400, "INVALID_REQUEST", "compression"},
		{"callback loopback", "POST", "/v2/bio-sessions", "application/json", `{"callbackURL":"https://[::1]:8443/cb"}`, 400, "INVALID_REQUEST", "callbackURL"},
		{"callback metadata", "POST", "/v2/bio-sessions", "application/json", `{"callbackURL":"https://169.254.169.254/latest"}`, 400, "INVALID_REQUEST", "callbackURL"},
		{"callback private", "POST", "/v2/bio-sessions", "application/json", `{"callbackURL":"https://192.168.1.10/cb"}`, 400, "INVALID_REQUEST", "callbackURL"},
		{"callback userinfo", "POST", "/v2/bio-sessions", "application/json", `{"callbackURL":"https://u:p@example.com/cb"}`, 400, "INVALID_REQUEST", "callbackURL"},
		{"callback long", "POST", "/v2/bio-sessions", "application/json", `{"callbackURL":"https://example.com/` + strings.Repeat("p", 2100) + `"}`, 400, fault.CodeFieldTooLong, "callbackURL"},
		{"liveness params ignored fields", "POST", "/v2/bio-sessions/" + sess + "/init-liveness-parameters", "application/json",
			`{"type":"HIGH","nbChallenge":2,"useAccurateMatch":true,"matchThreshold":3,"purpose":"FACEFLOW_PURPOSE_TRACK","enableLighting":false,"illuminationMode":"FACEFLOW_ILLUMINATION_MODE_ON"}`, 200, "", ""},
		{"liveness params unknown", "POST", "/v2/bio-sessions/" + sess + "/init-liveness-parameters", "application/json", `{"type":"HIGH","colour":1}`, 400, fault.CodeUnknownField, "colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, out := a.call(tc.method, tc.path, tc.ct, []byte(tc.body), a.key)
			require.Equal(t, tc.status, res.StatusCode, "%s", out)
			if tc.code == "" {
				return
			}
			e := errorOf(t, out)
			assert.Equal(t, tc.code, e.Code, "%s", out)
			assert.Equal(t, tc.field, e.Field, "%s", out)
			assert.Less(t, len(e.Message), 300, "message does not echo the value")
		})
	}
}

// TestCallbackAllowList: a local callback receiver is accepted when the
// webhook allow-list (FACELAMBDA_WEBHOOK_ALLOW) covers it, refused without.
func TestCallbackAllowList(t *testing.T) {
	d := fakeDeps(t) // webhook policy allows 127.0.0.0/8
	d.Config.AllowHTTPCallbacks = true
	h := httpapi.SessionHandler(d)
	body := []byte(`{"callbackURL":"http://127.0.0.1:9/cb"}`)
	res, m := do(t, h, "POST", "/v2/bio-sessions", "application/json", body)
	assert.Equal(t, 201, res.StatusCode, m)

	strict := fakeDeps(t)
	strict.Config.AllowHTTPCallbacks = true
	strict.Webhooks = webhook.NewRegistry(strict.Usage, nil, webhook.Policy{AllowHTTP: true})
	res, m = do(t, httpapi.SessionHandler(strict), "POST", "/v2/bio-sessions", "application/json", body)
	assert.Equal(t, 400, res.StatusCode, m)
	assert.Equal(t, "callbackURL", m["field"])
}

// syncBuffer is a log sink for tests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(l, &m), "%s", l)
		out = append(out, m)
	}
	return out
}

// captureLogs sends the default logger's JSON lines to a buffer.
func captureLogs(t *testing.T) *syncBuffer {
	var b syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return &b
}

// failingRecords fails every session read, as a store outage would.
type failingRecords struct{ store.Records }

func (failingRecords) GetSession(context.Context, string, string) (store.Session, error) {
	return store.Session{}, errors.New("dynamodb: ValidationException: item size exceeded")
}

// TestInternalErrorLogsItsCause: a 500 logs the store's error; the client
// sees only the error object.
func TestInternalErrorLogsItsCause(t *testing.T) {
	logs := captureLogs(t)
	d := fakeDeps(t)
	d.Records = failingRecords{d.Records}
	res, m := do(t, httpapi.SessionHandler(d), "GET", "/v2/bio-sessions/abc", "", nil)
	require.Equal(t, 500, res.StatusCode)
	assert.Equal(t, "internal error", m["message"])
	assert.NotContains(t, m["message"], "dynamodb")
	var failed map[string]any
	for _, l := range logs.lines(t) {
		if l["msg"] == "request failed" {
			failed = l
		}
	}
	require.NotNil(t, failed, "a request failed line")
	assert.Contains(t, failed["err"], "ValidationException")
	assert.Equal(t, m["id"], failed["request_id"])
}

// TestOneRequestID: on a billable route the X-Request-Id, the error
// object's id, refid and the access log's request_id are one value; a
// well-formed incoming X-Request-Id is that value, a malformed one is not.
func TestOneRequestID(t *testing.T) {
	logs := captureLogs(t)
	d := fakeDeps(t)
	face := httpapi.FaceHandler(d)
	send := func(id string, body []byte, ct string) (*http.Response, map[string]any) {
		req := httptest.NewRequest("POST", "/v2/faces", bytes.NewReader(body))
		req.Header.Set("apikey", testKey)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Reference-Number", "order-77")
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		rec := httptest.NewRecorder()
		face.ServeHTTP(rec, req)
		var m map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
		return rec.Result(), m
	}
	accessLog := func(id string) map[string]any {
		for _, l := range logs.lines(t) {
			if l["msg"] == "request" && l["request_id"] == id {
				return l
			}
		}
		return nil
	}
	img := fakeFixture(t, "obama.jpg")
	ct, body := multipartBody(t, "form-data", part{"image", "image/jpeg", img})
	res, m := send("", body, ct)
	require.Equal(t, 200, res.StatusCode, m)
	id := res.Header.Get("X-Request-Id")
	assert.True(t, strings.HasPrefix(id, "W-face-create-face-"), id)
	assert.Equal(t, id, m["refid"])
	l := accessLog(id)
	require.NotNil(t, l, "the access log carries the transaction id")
	assert.Equal(t, "order-77", l["reference_number"])

	res, m = send("", []byte(`{"colour":1}`), "application/json")
	require.Equal(t, 400, res.StatusCode)
	assert.Equal(t, res.Header.Get("X-Request-Id"), m["id"])
	assert.NotNil(t, accessLog(m["id"].(string)))

	res, m = send("trace-1.2:abc_D-9", body, ct)
	require.Equal(t, 200, res.StatusCode, m)
	assert.Equal(t, "trace-1.2:abc_D-9", res.Header.Get("X-Request-Id"))
	assert.Equal(t, "trace-1.2:abc_D-9", m["refid"])
	assert.NotNil(t, accessLog("trace-1.2:abc_D-9"))

	for _, bad := range []string{"has space", strings.Repeat("a", 129), "semi;colon", "ünï"} {
		res, _ = send(bad, []byte(`{}`), "application/json")
		assert.NotEqual(t, bad, res.Header.Get("X-Request-Id"))
		assert.True(t, httpapi.WellFormedRequestID(res.Header.Get("X-Request-Id")))
	}
}

// TestGateRefusesExcessImageWork: with every slot taken, an image request
// waits its short while, then gets 503 SERVER_BUSY with Retry-After; other
// routes are not held; once a slot is free the request is served.
func TestGateRefusesExcessImageWork(t *testing.T) {
	d := fakeDeps(t)
	d.Gate = httpapi.NewGate(1, time.Millisecond)
	blocked, release := make(chan struct{}), make(chan struct{})
	// The one slot is held by a request whose upload is stalled: its
	// body blocks until release.
	inner := httpapi.FaceHandler(d)
	go func() {
		req := httptest.NewRequest("POST", "/v2/faces", &stalledBody{started: blocked, release: release})
		req.Header.Set("apikey", testKey)
		req.Header.Set("Content-Type", "application/json")
		inner.ServeHTTP(httptest.NewRecorder(), req)
	}()
	<-blocked
	res, m := do(t, inner, "POST", "/v2/faces", "application/json", []byte(`{"image":"AAAA"}`))
	assert.Equal(t, 503, res.StatusCode, m)
	assert.Equal(t, fault.CodeBusy, m["code"])
	assert.Equal(t, "1", res.Header.Get("Retry-After"))
	res, m = do(t, inner, "GET", "/v2/bio-sessions/none/faces", "", nil)
	assert.Equal(t, 404, res.StatusCode, m) // not an image route: not held
	close(release)
	require.Eventually(t, func() bool {
		res, _ := do(t, inner, "POST", "/v2/faces", "application/json", []byte(`{"image":"AAAA"}`))
		return res.StatusCode != 503
	}, 10*time.Second, 10*time.Millisecond)
}

// stalledBody signals started on its first read and then blocks until
// release, as a slow upload does.
type stalledBody struct {
	started, release chan struct{}
	once             sync.Once
}

func (b *stalledBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.started) })
	<-b.release
	return 0, errors.New("client went away")
}
