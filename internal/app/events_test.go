package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/tools/evaluation/fixture"
	"github.com/facelambda/facelambda/internal/tools/planar"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

var updateEvents = flag.Bool("update-events", false, "regenerate events/*/*.json from the fixtures")

func eventFiles(t *testing.T) map[string][]string {
	out := map[string][]string{}
	for _, fn := range []string{"session", "face", "match", "enroll", "liveness"} {
		files, err := filepath.Glob(filepath.Join(testkit.Path(t, "events"), fn, "*.json"))
		require.NoError(t, err)
		require.NotEmpty(t, files, "events for %s", fn)
		sort.Strings(files)
		out[fn] = files
	}
	return out
}

// TestEventsRoundTrip checks every event file is exactly an API Gateway v2
// request: decoding and re-encoding it gives the same JSON.
func TestEventsRoundTrip(t *testing.T) {
	for _, files := range eventFiles(t) {
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			var ev events.APIGatewayV2HTTPRequest
			require.NoError(t, json.Unmarshal(b, &ev), f)
			again, err := json.Marshal(ev)
			require.NoError(t, err)
			assert.JSONEq(t, string(b), string(again), f)
			assert.Equal(t, "2.0", ev.Version, f)
		}
	}
}

// TestEventsThroughLambdaHandlers invokes each function's Lambda handler
// with each of its event files, with the real models, on an embedded store
// seeded afresh with the fixture the events refer to.
func TestEventsThroughLambdaHandlers(t *testing.T) {
	for fn, files := range eventFiles(t) {
		for _, f := range files {
			t.Run(fn+"/"+filepath.Base(f), func(t *testing.T) {
				g := build(t)
				handler := lambdahttp.Handler(g.Handler(fn))

				b, err := os.ReadFile(f)
				require.NoError(t, err)
				var ev events.APIGatewayV2HTTPRequest
				require.NoError(t, json.Unmarshal(b, &ev))
				res, err := handler(context.Background(), ev)
				require.NoError(t, err)
				assert.Equal(t, fixture.ExpectedStatus(f), res.StatusCode, res.Body)
				if res.StatusCode == 204 {
					return
				}
				require.True(t, strings.HasPrefix(res.Headers["Content-Type"], "application/json") ||
					strings.HasPrefix(res.Headers["Content-Type"], "image/"), res.Headers)
				if res.StatusCode >= 400 {
					var body map[string]any
					require.NoError(t, json.Unmarshal([]byte(res.Body), &body), res.Body)
					assert.NotEmpty(t, body["message"])
				}
			})
		}
	}
}

// TestGenerateEvents rewrites the event files (go test -run TestGenerateEvents -update-events ./internal/app/).
func TestGenerateEvents(t *testing.T) {
	if !*updateEvents {
		t.Skip("pass -update-events to regenerate events/")
	}
	small := func(name string, width int) []byte {
		b, err := os.ReadFile(testkit.Testdata(t, "faces", name))
		require.NoError(t, err)
		res, err := decode.Decode(b, decode.Options{})
		require.NoError(t, err)
		h := res.Image.H * width / res.Image.W
		out := raster.Resize(res.Image, geometry.Box{W: float64(res.Image.W), H: float64(res.Image.H)}, width, h)
		b, err = raster.EncodeJPEG(out, 88)
		require.NoError(t, err)
		return b
	}
	obama, obama2, biden := small("obama.jpg", 360), small("obama2.jpg", 300), small("biden.jpg", 300)
	two, coffee := small("two_people.jpg", 560), small("coffee.png", 300)
	b64 := base64.StdEncoding.EncodeToString

	svc, err := app.Service()
	require.NoError(t, err)
	a, err := svc.Analyze(obama, biometric.Options{})
	require.NoError(t, err)
	refFace := map[string]any{"id": "3d069016-e66e-498e-af32-b930ba1c5067", "mode": svc.Encoder(), "imageType": "SELFIE",
		"quality": a.Quality, "template": a.Template.Base64(), "templateVersion": 1}

	write := func(fn, name, method, path string, ct string, body []byte, binary bool) {
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: method + " " + path, RawPath: path,
			Headers: map[string]string{"apikey": app.FixtureKey, "user-agent": "curl/8.5.0"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				AccountID: "123456789012", APIID: "local", DomainName: "localhost", DomainPrefix: "localhost",
				RequestID: "local-" + strings.TrimSuffix(name, ".json"), RouteKey: method + " " + path, Stage: "$default",
				Time: "22/Nov/2026:00:00:00 +0000", TimeEpoch: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).UnixMilli(),
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "curl/8.5.0"},
			},
			IsBase64Encoded: binary,
		}
		if ct != "" {
			ev.Headers["content-type"] = ct
		}
		if i := strings.Index(path, "?"); i >= 0 {
			ev.RawPath, ev.RawQueryString = path[:i], path[i+1:]
			ev.RouteKey, ev.RequestContext.RouteKey = method+" "+path[:i], method+" "+path[:i]
			ev.RequestContext.HTTP.Path = path[:i]
		}
		if binary {
			ev.Body = b64(body)
		} else {
			ev.Body = string(body)
		}
		out, err := json.MarshalIndent(ev, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(testkit.Path(t, "events"), fn), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(testkit.Path(t, "events"), fn, name), append(out, '\n'), 0o644))
	}
	form := func(parts ...[3]string) (string, []byte) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		require.NoError(t, w.SetBoundary("facelambda-event-boundary"))
		for _, p := range parts {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p[0]))
			if p[1] != "" {
				h.Set("Content-Type", p[1])
			}
			pw, err := w.CreatePart(h)
			require.NoError(t, err)
			_, _ = pw.Write([]byte(p[2]))
		}
		require.NoError(t, w.Close())
		return w.FormDataContentType(), buf.Bytes()
	}
	js := func(v any) []byte { b, _ := json.Marshal(v); return b }

	ct, body := form([3]string{"face", "application/json", `{"imageType":"SELFIE","friendlyName":"Presidential portrait","correlationId":"event-1"}`},
		[3]string{"image", "image/jpeg", string(obama)})
	write("face", "create-multipart.json", "POST", "/v2/faces", ct, body, true)
	write("face", "create-json.json", "POST", "/v2/faces", "application/json",
		js(map[string]any{"image": b64(obama), "imageType": "SELFIE", "qualityMode": "VERIFY"}), false)
	ct, body = form([3]string{"image", "image/jpeg", string(two)})
	write("face", "two-faces.400.json", "POST", "/v2/faces", ct, body, true)
	ct, body = form([3]string{"image", "image/jpeg", string(coffee)})
	write("face", "no-face.400.json", "POST", "/v2/faces", ct, body, true)
	write("face", "wrong-content-type.415.json", "POST", "/v2/faces", "text/plain", []byte("not an image"), false)
	write("face", "bad-base64.400.json", "POST", "/v2/faces", "application/json", []byte(`{"image":"%%%"}`), false)

	ct, body = form([3]string{"referenceImage", "image/jpeg", string(obama)}, [3]string{"candidateImage", "image/jpeg", string(obama2)},
		[3]string{"referenceImageType", "", "SELFIE"}, [3]string{"candidateImageType", "", "SELFIE"}, [3]string{"level", "", "HIGH"},
		[3]string{"correlationId", "", "event-2"})
	write("match", "images.json", "POST", "/v2/match/images", ct, body, true)
	write("match", "images-different-people.json", "POST", "/v2/match/images", "application/json",
		js(map[string]any{"referenceImage": b64(obama), "candidateImage": b64(biden), "level": "MEDIUM"}), false)
	write("match", "template.json", "POST", "/v2/match", "application/json",
		js(map[string]any{"reference": []any{refFace}, "candidateImage": b64(obama2), "candidateImageType": "SELFIE", "level": "HIGH"}), false)
	sp := "/v2/bio-sessions/" + app.FixtureSession
	write("session", "create-session.201.json", "POST", "/v2/bio-sessions", "application/json",
		[]byte(`{"correlationId":"event-3","imageStorageEnabled":true,"ttlSeconds":600}`), false)
	write("session", "create-session-ttl-too-long.400.json", "POST", "/v2/bio-sessions", "application/json",
		[]byte(`{"ttlSeconds":100000000}`), false)
	write("session", "get-session.json", "GET", sp, "", nil, false)
	write("session", "get-session-unknown.404.json", "GET", "/v2/bio-sessions/0f8e2a4c-0000-4000-8000-0000000000ff", "", nil, false)
	write("session", "delete-session.204.json", "DELETE", "/v2/bio-sessions/"+app.DeleteSession, "", nil, false)
	write("session", "capabilities.json", "GET", "/v2/capabilities", "", nil, false)
	write("session", "monitor.json", "GET", "/v2/monitor", "", nil, false)
	write("session", "jwks.json", "GET", "/v2/.well-known/jwks.json", "", nil, false)
	ct, body = form([3]string{"face", "application/json", `{"imageType":"SELFIE","friendlyName":"second selfie"}`},
		[3]string{"image", "image/jpeg", string(obama2)})
	write("face", "create-session-face.201.json", "POST", sp+"/faces", ct, body, true)
	write("face", "create-session-face-from-template.201.json", "POST", sp+"/faces", "application/json", js(refFace), false)
	write("face", "list-faces.json", "GET", sp+"/faces", "", nil, false)
	write("face", "get-face.json", "GET", sp+"/faces/"+app.FixtureFace1, "", nil, false)
	write("face", "get-face-image.json", "GET", sp+"/faces/"+app.FixtureFace1+"/image?compression=true", "", nil, false)
	write("face", "delete-face.204.json", "DELETE", sp+"/faces/"+app.FixtureFace3, "", nil, false)
	write("face", "delete-faces.204.json", "DELETE", "/v2/bio-sessions/"+app.EmptySession+"/faces", "", nil, false)
	write("face", "create-upload.201.json", "POST", "/v2/uploads", "application/json", []byte(`{"contentType":"image/jpeg"}`), false)
	write("match", "session-matches.json", "GET", sp+"/faces/"+app.FixtureFace1+"/matches?level=HIGH", "", nil, false)
	write("enroll", "enroll.json", "POST", "/v2/enroll/2001", "application/json", js([]any{map[string]string{"image": b64(obama)}, map[string]string{"image": b64(obama2)}}), false)
	write("enroll", "enroll-no-face.json", "POST", "/v2/enroll/2002", "application/json", js([]any{map[string]string{"image": b64(coffee)}}), false)
	write("enroll", "enroll-bad-class.400.json", "POST", "/v2/enroll/0", "application/json", js([]any{}), false)
	write("enroll", "verify.json", "POST", "/v2/verify/1001", "application/json", js(map[string]string{"image": b64(obama2), "level": "HIGH"}), false)
	write("enroll", "verify-unknown-class.404.json", "POST", "/v2/verify/4242", "application/json", js(map[string]string{"image": b64(obama2)}), false)
	write("enroll", "get-template.json", "GET", "/v2/templates/1001?thumbnails=true", "", nil, false)
	write("enroll", "delete-template.204.json", "DELETE", "/v2/templates/1003", "", nil, false)
	write("enroll", "create-gallery.201.json", "POST", "/v2/galleries", "application/json", []byte(`{"name":"visitors","description":"event fixture"}`), false)
	write("enroll", "list-galleries.json", "GET", "/v2/galleries", "", nil, false)
	write("enroll", "delete-gallery.204.json", "DELETE", "/v2/galleries/former-staff", "", nil, false)
	write("enroll", "add-members.json", "POST", "/v2/galleries/staff/members", "application/json", []byte(`{"classIds":[1003,1004]}`), false)
	write("enroll", "remove-members.json", "DELETE", "/v2/galleries/staff/members", "application/json", []byte(`{"classIds":[1002]}`), false)
	write("enroll", "list-members.json", "GET", "/v2/galleries/staff/members?limit=10", "", nil, false)
	write("enroll", "identify.json", "POST", "/v2/galleries/staff/identify", "application/json", js(map[string]any{"image": b64(obama2), "candidateListSize": 5}), false)
	write("liveness", "passive.json", "POST", "/v2/liveness", "application/json", js(map[string]string{"image": b64(obama), "threshold": "HIGH"}), false)
	ct, body = form([3]string{"image", "image/jpeg", string(obama2)}, [3]string{"threshold", "", "BALANCED_VERY_HIGH"})
	write("liveness", "passive-multipart.json", "POST", "/v2/liveness", ct, body, true)
	write("liveness", "passive-no-face.400.json", "POST", "/v2/liveness", "application/json", js(map[string]string{"image": b64(coffee)}), false)
	write("liveness", "passive-bad-threshold.400.json", "POST", "/v2/liveness", "application/json", js(map[string]string{"image": b64(obama), "threshold": "EXTREME"}), false)
	write("session", "list-webhooks.json", "GET", "/v2/webhooks", "", nil, false)
	lsp := "/v2/bio-sessions/" + app.FixtureSession
	write("liveness", "init-liveness-parameters.json", "POST", lsp+"/init-liveness-parameters", "application/json",
		[]byte(`[{"type":"HIGH","timeout":30000,"securityLevel":"HIGH","nbChallenge":3}]`), false)
	write("liveness", "init-liveness-parameters-bad.400.json", "POST", lsp+"/init-liveness-parameters", "application/json",
		[]byte(`{"type":"HIGH","nbChallenge":12}`), false)
	write("liveness", "challenge-result-none.404.json", "GET", "/v2/bio-sessions/"+app.EmptySession+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, false)
	write("liveness", "recording-none.404.json", "GET", "/v2/bio-sessions/"+app.EmptySession+"/recording", "", nil, false)
	write("liveness", "capture-not-zip.400.json", "POST", lsp+"/liveness-capture", "application/zip", []byte("this is not a zip archive"), true)
	write("session", "create-webhook.201.json", "POST", "/v2/webhooks", "application/json", []byte(`{"url":"https://hooks.example.com/facelambda","events":["session.created","liveness.completed"]}`), false)
	write("session", "get-webhook-unknown.404.json", "GET", "/v2/webhooks/0123456789abcdef0123456789abcdef", "", nil, false)
	write("session", "usage.json", "GET", "/v2/usage?from=2026-01-01T00:00:00Z&to=2030-01-01T00:00:00Z", "", nil, false)
	write("match", "bad-template.400.json", "POST", "/v2/match", "application/json",
		js(map[string]any{"reference": map[string]any{"template": "AAAA", "imageType": "SELFIE"}, "candidateImage": b64(obama2)}), false)
}

// TestObjectCreatedEvent runs events/liveness-upload/object-created.json
// (EventBridge's "Object Created", as the bucket sends it) through the
// liveness function's Lambda handler: the capture uploaded under the key
// it names is analysed and its result lands in the session.
func TestObjectCreatedEvent(t *testing.T) {
	g := build(t)
	d, st := g.Deps, g.Embedded
	h := httpapi.LivenessHandler(d)
	call := func(method, path, body string) map[string]any {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("apikey", app.FixtureKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		var m map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
		return m
	}
	sp := "/v2/bio-sessions/" + app.FixtureSession
	p := call("POST", sp+"/init-liveness-parameters", `{"type":"HIGH","nbChallenge":1}`)
	sr := p["serverRandom"].(string)

	obama, err := os.ReadFile(testkit.Testdata(t, "faces", "obama.jpg"))
	require.NoError(t, err)
	dec, err := decode.Decode(obama, decode.Options{})
	require.NoError(t, err)
	m := capture.Manifest{Version: 1, SessionID: app.FixtureSession, ServerRandom: sr}
	var frames [][]byte
	for i, yaw := range []float64{0, 0, 15, 30, 15, 0, -15, -30, -15, 0} {
		turned, err := planar.Turn(dec.Image, yaw, 0, 2.5)
		require.NoError(t, err)
		b, err := raster.EncodeJPEG(turned, 90)
		require.NoError(t, err)
		frames = append(frames, b)
		m.Frames = append(m.Frames, capture.FrameRef{File: fmt.Sprintf("%02d.jpg", i), T: int64(100 * i)})
	}
	zip, err := capture.Build(m, frames)
	require.NoError(t, err)
	key := liveness.UploadKey(app.FixtureTenant, app.FixtureSession, sr)
	require.NoError(t, st.Put(t.Context(), key, zip, "application/zip"))

	raw, err := os.ReadFile(filepath.Join(testkit.Path(t, "events"), "liveness-upload", "object-created.json"))
	require.NoError(t, err)
	require.Contains(t, string(raw), "SERVERRANDOM.zip")
	ev := strings.Replace(string(raw), "SERVERRANDOM", sr, 1)
	fn := lambdahttp.WithS3(h, func(ctx context.Context, _, key string, created time.Time) error {
		return d.LivenessService().ProcessUpload(ctx, key, created)
	})
	out, err := fn(t.Context(), json.RawMessage(ev))
	require.NoError(t, err)
	assert.Nil(t, out)

	res := call("GET", sp+"/liveness-challenge-result/LIVENESS_HIGH", "")
	assert.Contains(t, []any{"SPOOF", "FAILED"}, res["livenessStatus"], "a photo turned in front of the camera: %v", res)
	assert.Equal(t, "upload", res["source"])
	_, _, err = st.Get(t.Context(), key)
	require.Error(t, err, "the upload is consumed")

	// The file as committed names no existing upload: invoking it (as `sam
	// local invoke` does) is a logged no-op, not an error.
	_, err = fn(t.Context(), json.RawMessage(raw))
	require.NoError(t, err)
}
