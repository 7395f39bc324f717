package httpapi_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/testkit"
)

// attackPoses turn a flat photo left and right, then up and down, at 10
// frames a second: what a printed photo or a tablet moved in front of the
// camera shows.
var attackPoses = [][2]float64{{0, 0}, {0, 0}, {12, 0}, {24, 0}, {34, 0}, {24, 0}, {12, 0}, {0, 0},
	{-12, 0}, {-24, 0}, {-34, 0}, {-24, 0}, {-12, 0}, {0, 0}, {0, 15}, {0, 30}, {0, 15}, {0, 0}}

func (a *api) initLiveness(key, sid, body string, status int) map[string]any {
	a.t.Helper()
	return a.object("POST", "/v2/bio-sessions/"+sid+"/init-liveness-parameters", "application/json", []byte(body), key, status)
}

// captureOf builds the container of frames for the parameters p.
func captureOf(t testing.TB, sid string, p map[string]any, frames [][]byte) (capture.Manifest, []byte) {
	t.Helper()
	m := capture.Manifest{Version: 1, SessionID: sid, ServerRandom: p["serverRandom"].(string)}
	for i := range frames {
		m.Frames = append(m.Frames, capture.FrameRef{File: fmt.Sprintf("%03d.jpg", i), T: int64(i * 100)})
	}
	zip, err := capture.Build(m, frames)
	require.NoError(t, err)
	return m, zip
}

// multipartFrames is the capture as multipart/form-data: the metadata part
// and one "frame" part per frame whose filename is the manifest's.
func multipartFrames(t testing.TB, meta []byte, m capture.Manifest, frames [][]byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	require.NoError(t, w.WriteField("metadata", string(meta)))
	for i, f := range frames {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="frame"; filename="`+m.Frames[i].File+`"`)
		h.Set("Content-Type", "image/jpeg")
		pw, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = pw.Write(f)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return w.FormDataContentType(), buf.Bytes()
}

func publicKeyOf(t testing.TB, p map[string]any) *rsa.PublicKey {
	t.Helper()
	pub, err := capture.ParseJWK(p["publicKey"].(map[string]any))
	require.NoError(t, err)
	return pub
}

func TestActiveLivenessPlanarAttack(t *testing.T) {
	a := newAPI(t)
	sid := a.session(a.key, `{"imageStorageEnabled":true}`)["id"].(string)
	p := a.initLiveness(a.key, sid, `[{"type":"HIGH","timeout":30000,"securityLevel":"HIGH","nbChallenge":2}]`, 200)
	a.verified(p)
	assert.Len(t, p["challenges"], 2)
	assert.Len(t, p["serverRandom"], 26)
	assert.Equal(t, "HIGH", p["securityLevel"])
	assert.Equal(t, "MODERATE", p["passiveLevel"], "seed 000's HIGH is the third of eight levels")
	cert := p["certificate"].([]any)[0].(string)
	require.Len(t, strings.Split(cert, "."), 3, "the certificate is a compact JWS")
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(cert, ".")[1])
	require.NoError(t, err)
	assert.Contains(t, string(payload), sid, "the certificate names the session")
	assert.Contains(t, string(payload), p["serverRandom"].(string))

	frames := planarFrames(t, fixture(t, "obama.jpg"), attackPoses)
	m, _ := captureOf(t, sid, p, frames)
	ct, body := multipartFrames(t, mustJSON(t, m), m, frames)
	r := a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", ct, body, a.key, 200)
	a.verified(r)
	assert.Equal(t, "SPOOF", r["livenessStatus"], "%v", r)
	assert.Equal(t, "planar motion", r["diagnostic"])
	checks := r["checks"].(map[string]any)
	assert.EqualValues(t, len(frames), checks["frames"])
	measures := checks["measures"].(map[string]any)
	assert.Equal(t, true, measures["planar"])
	assert.Positive(t, measures["planarPairs"])
	assert.Equal(t, "multipart", r["source"])
	assert.Nil(t, r["bestImageId"], "a spoof's best frame is not made a face of the session")
	res, list := a.call("GET", "/v2/bio-sessions/"+sid+"/faces", "", nil, a.key)
	require.Equal(t, 200, res.StatusCode)
	assert.JSONEq(t, `[]`, string(list), "no face in the session")

	got := a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, a.key, 200)
	a.verified(got)
	assert.Equal(t, "SPOOF", got["livenessStatus"])
	assert.EqualValues(t, 2, got["numberOfChallenge"])
	e := a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_MEDIUM", "", nil, a.key, 409)
	assert.Equal(t, "LIVENESS_MODE_MISMATCH", e["code"], "a client cannot read a HIGH result as MEDIUM or the reverse")
	a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/WHATEVER", "", nil, a.key, 400)

	// The same capture again is a replay.
	e = a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", ct, body, a.key, 409)
	assert.Equal(t, "REPLAYED", e["code"])

	// The recording is the capture, behind a presigned URL, and goes with
	// the session.
	rec := a.object("GET", "/v2/bio-sessions/"+sid+"/recording", "", nil, a.key, 200)
	zip := fetch(t, rec["url"].(string), 200)
	c, err := capture.Parse(zip, capture.DefaultLimits())
	require.NoError(t, err)
	assert.Len(t, c.Frames, len(frames))
	assert.Equal(t, p["serverRandom"], c.Manifest.ServerRandom)
	other := a.keyFor("other-tenant")
	a.object("GET", "/v2/bio-sessions/"+sid+"/recording", "", nil, other, 404)
	a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, other, 404)
	res, _ = a.call("DELETE", "/v2/bio-sessions/"+sid, "", nil, a.key)
	require.Equal(t, 204, res.StatusCode)
	fetch(t, rec["url"].(string), 404)
}

func TestActiveLivenessSecureReplay(t *testing.T) {
	a := newAPI(t)
	sid := a.session(a.key, `{}`)["id"].(string)
	p := a.initLiveness(a.key, sid, `{"type":"MEDIUM","nbChallenge":1}`, 200)
	pub := publicKeyOf(t, p)
	frames := planarFrames(t, fixture(t, "biden.jpg"), attackPoses[:8])
	_, zip := captureOf(t, sid, p, frames)
	sr := p["serverRandom"].(string)
	send := func(meta, secret []byte, status int) map[string]any {
		ct, body := multipartBody(t, "form-data", part{"encryptedMetaData", "application/octet-stream", meta},
			part{"encryptedMasterSecret", "application/octet-stream", secret},
			part{"livenessDeviceInfo", "application/json", []byte(`{"deviceModel":"Pixel 8","osType":"Android","osVersion":"14"}`)})
		return a.object("POST", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata", ct, body, a.key, status)
	}
	meta, secret, err := capture.Seal(pub, sid, sr, zip)
	require.NoError(t, err)

	tampered := bytes.Clone(meta)
	tampered[len(tampered)/2] ^= 1
	e := send(tampered, secret, 400)
	assert.Equal(t, "DECRYPTION_FAILED", e["code"], "altered bytes")
	otherSession, otherSecret, err := capture.Seal(pub, "another-session", sr, zip)
	require.NoError(t, err)
	send(otherSession, otherSecret, 400)
	status := a.object("GET", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata", "", nil, a.key, 200)
	assert.Equal(t, "INITIALIZED", status["status"], "refused payloads spend nothing")

	r := send(meta, secret, 201)
	a.verified(r)
	assert.Contains(t, []any{"SPOOF", "FAILED"}, r["status"], "a photo turned in front of the camera is not live")
	status = a.object("GET", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata", "", nil, a.key, 200)
	a.verified(status)
	assert.Equal(t, r["status"], status["status"])
	img, err := base64.StdEncoding.DecodeString(status["image"].(string))
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(img, []byte{0xFF, 0xD8}), "the best image is a JPEG")

	e = send(meta, secret, 409)
	assert.Equal(t, "REPLAYED", e["code"], "the same payload twice")
	// New parameters: the old payload is bound to the old serverRandom.
	a.initLiveness(a.key, sid, `{"type":"MEDIUM","nbChallenge":1}`, 200)
	send(meta, secret, 400)

	ct, body := multipartBody(t, "form-data", part{"encryptedMetaData", "", meta})
	a.object("POST", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata", ct, body, a.key, 400)
	ct, body = multipartBody(t, "form-data", part{"surprise", "", meta})
	a.object("POST", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata", ct, body, a.key, 400)
	a.object("POST", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata", "application/json", []byte(`{}`), a.key, 415)
}

func TestActiveLivenessUploadEvent(t *testing.T) {
	a := newAPI(t)
	a.st.OnUpload = nil // the test delivers the object-created event itself
	sid := a.session(a.key, `{}`)["id"].(string)
	p := a.initLiveness(a.key, sid, `{"nbChallenge":1}`, 200)
	_, zip := captureOf(t, sid, p, planarFrames(t, fixture(t, "obama.jpg"), attackPoses[:10]))
	up := a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-uploads", "application/json", []byte(`{}`), a.key, 201)
	key := up["key"].(string)
	assert.Equal(t, liveness.UploadKey("acme", sid, p["serverRandom"].(string)), key)
	req, err := http.NewRequest("PUT", up["url"].(string), bytes.NewReader(zip))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/zip")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	pending := a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, a.key, 200)
	assert.Equal(t, "INITIALIZED", pending["livenessStatus"])

	// What the bucket's object-created event does:
	require.NoError(t, a.d.LivenessService().ProcessUpload(t.Context(), key, time.Now()))
	got := a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, a.key, 200)
	assert.Contains(t, []any{"SPOOF", "FAILED"}, got["livenessStatus"])
	assert.Equal(t, "upload", got["source"])
	_, _, err = a.st.Get(t.Context(), key)
	require.Error(t, err, "the upload is consumed")
	// A second delivery of the event (S3 delivers at least once) is a no-op.
	require.NoError(t, a.d.LivenessService().ProcessUpload(t.Context(), key, time.Now()))
	require.NoError(t, a.d.LivenessService().ProcessUpload(t.Context(), "uploads/other/x.zip", time.Now()), "not a capture upload key: logged")
	e := a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-uploads", "application/json", []byte(`{}`), a.key, 409)
	assert.Equal(t, "REPLAYED", e["code"])

	// An upload that is no capture ends its attempt as ERROR (the client
	// polling the result learns it) and is deleted.
	p = a.initLiveness(a.key, sid, `{"nbChallenge":1}`, 200)
	key = liveness.UploadKey("acme", sid, p["serverRandom"].(string))
	require.NoError(t, a.st.Put(t.Context(), key, []byte("not a zip"), "application/zip"))
	require.NoError(t, a.d.LivenessService().ProcessUpload(t.Context(), key, time.Now()))
	got = a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, a.key, 200)
	assert.Equal(t, "ERROR", got["livenessStatus"])
	assert.Contains(t, got["diagnostic"], "not a valid capture")
	_, _, err = a.st.Get(t.Context(), key)
	require.Error(t, err, "the refused upload is deleted")

	// An upload created after the parameters expired is a TIMEOUT, judged
	// by the object's creation time, not by when the event arrives.
	p = a.initLiveness(a.key, sid, `{"nbChallenge":1,"timeout":3000}`, 200)
	_, zip = captureOf(t, sid, p, planarFrames(t, fixture(t, "obama.jpg"), attackPoses[:6]))
	key = liveness.UploadKey("acme", sid, p["serverRandom"].(string))
	require.NoError(t, a.st.Put(t.Context(), key, zip, "application/zip"))
	require.NoError(t, a.d.LivenessService().ProcessUpload(t.Context(), key, time.Now().Add(time.Hour)))
	got = a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, a.key, 200)
	assert.Equal(t, "TIMEOUT", got["livenessStatus"])
}

func TestActiveLivenessRefusals(t *testing.T) {
	a := newAPI(t)
	sid := a.session(a.key, `{}`)["id"].(string)
	a.initLiveness(a.key, "no-such-session", `{}`, 404)
	a.initLiveness(a.keyFor("other-tenant"), sid, `{}`, 404)
	for _, body := range []string{`{"type":"LOW"}`, `{"nbChallenge":0}`, `{"nbChallenge":9}`, `{"timeout":10}`,
		`{"securityLevel":"ULTRA"}`, `{"type":`, `[{},{}]`} {
		a.initLiveness(a.key, sid, body, 400)
	}
	a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-parameters", "", nil, a.key, 404)
	frames := planarFrames(t, fixture(t, "obama.jpg"), attackPoses[:6])

	// A capture before any parameters.
	m := capture.Manifest{Version: 1, SessionID: sid, ServerRandom: "x", Frames: []capture.FrameRef{{File: "0.jpg", T: 0}}}
	zip, err := capture.Build(m, frames[:1])
	require.NoError(t, err)
	e := a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 409)
	assert.Equal(t, "NO_LIVENESS_PARAMETERS", e["code"])

	p := a.initLiveness(a.key, sid, `{}`, 200)
	params := a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-parameters", "", nil, a.key, 200)
	assert.Equal(t, p["serverRandom"], params["serverRandom"])
	m, zip = captureOf(t, "another-session", p, frames)
	e = a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 400)
	assert.Equal(t, "WRONG_SESSION", e["code"])
	m.SessionID, m.ServerRandom = sid, "guessed"
	zip, err = capture.Build(m, frames)
	require.NoError(t, err)
	e = a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 400)
	assert.Equal(t, "WRONG_SERVER_RANDOM", e["code"])
	a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", []byte("PK\x03\x04 not a zip"), a.key, 400)
	a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "image/jpeg", frames[0], a.key, 415)
	// A frame that is not an image is refused and spends the attempt.
	m.ServerRandom = p["serverRandom"].(string)
	bad := append([]byte{0xFF, 0xD8}, []byte("not really a jpeg")...)
	zip, err = capture.Build(m, append(frames[:len(frames)-1:len(frames)-1], bad))
	require.NoError(t, err)
	e = a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 415)
	assert.Equal(t, "UNSUPPORTED_IMAGE_FORMAT", e["code"])
	got := a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, a.key, 200)
	assert.Equal(t, "ERROR", got["livenessStatus"])

	// Expired parameters. A capture arriving late is refused and the
	// result says TIMEOUT; so does the first read after the expiry (which
	// stores it), and a capture after that is refused too.
	late := func(a *api) { a.d.Now = func() time.Time { return time.Now().Add(time.Hour) } }
	for _, readFirst := range []bool{false, true} {
		p = a.initLiveness(a.key, sid, `{"timeout":3000}`, 200)
		_, zip = captureOf(t, sid, p, frames)
		late(a)
		if readFirst {
			got = a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, a.key, 200)
			assert.Equal(t, "TIMEOUT", got["livenessStatus"])
			a.d.Now = nil
		}
		e = a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 400)
		assert.Equal(t, "LIVENESS_EXPIRED", e["code"])
		a.d.Now = nil
		got = a.object("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_HIGH", "", nil, a.key, 200)
		assert.Equal(t, "TIMEOUT", got["livenessStatus"], "stored: stays TIMEOUT")
	}

	// Attempts are bounded.
	for range 2 { // attempts 4 and 5
		a.initLiveness(a.key, sid, `{}`, 200)
	}
	e = a.initLiveness(a.key, sid, `{}`, 409)
	assert.Equal(t, "TOO_MANY_ATTEMPTS", e["code"])
	e = a.object("GET", "/v2/bio-sessions/"+sid+"/recording", "", nil, a.key, 404)
	assert.Equal(t, "the bio-session has no recording", e["message"], "no capture was analysed")
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func fetch(t testing.TB, url string, status int) []byte {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, status, res.StatusCode, "GET %s: %s", url, b)
	return b
}

// The session's callbackURL hears of the result through the event path.
func TestActiveLivenessCallback(t *testing.T) {
	a := newAPI(t)
	a.d.Config.AllowHTTPCallbacks = true
	a.d.Active.ExposeChecks = false
	got := make(chan map[string]any, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		got <- ev
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	sid := a.session(a.key, `{"callbackURL":"`+rcv.URL+`/cb"}`)["id"].(string)
	p := a.initLiveness(a.key, sid, `{"type":"MEDIUM","nbChallenge":1}`, 200)
	_, zip := captureOf(t, sid, p, planarFrames(t, fixture(t, "obama.jpg"), attackPoses[:10]))
	r := a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 200)
	select {
	case ev := <-got:
		assert.Equal(t, "liveness.completed", ev["type"])
		data := ev["data"].(map[string]any)
		assert.Equal(t, sid, data["sessionId"])
		assert.Equal(t, r["livenessStatus"], data["livenessStatus"])
		assert.Equal(t, "LIVENESS_MEDIUM", data["livenessMode"])
		assert.Equal(t, r["bestImageId"], data["faceId"])
		assert.Equal(t, false, data["live"])
		assert.NotContains(t, r["checks"], "measures", "measures are not answered unless the deployment exposes them")
	case <-time.After(10 * time.Second):
		t.Fatal("no callback delivery")
	}
}

// BenchmarkLivenessCapture measures one active liveness analysis through
// the handler: 18 frames of 1000x1000 (a flat photo turned), HIGH mode
// (passive liveness on five frames).
func BenchmarkLivenessCapture(b *testing.B) {
	a := newAPI(b)
	frames := planarFrames(b, fixture(b, "obama.jpg"), attackPoses)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		sid := a.session(a.key, `{}`)["id"].(string)
		p := a.initLiveness(a.key, sid, `{"type":"HIGH","nbChallenge":2}`, 200)
		_, zip := captureOf(b, sid, p, frames)
		b.StartTimer()
		a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 200)
	}
	b.ReportMetric(float64(len(frames)), "frames/op")
}

// TestActiveLivenessRealHeadPoses submits, through the handler, a capture
// made of real photos of one person (LFW) showing the asked head pose
// between frontal ones: a real 3D head, so the planar test passes, the
// identity holds and the challenge is met. It needs ../shared/data.
func TestActiveLivenessRealHeadPoses(t *testing.T) {
	dir := testkit.Shared(t, "data", "lfw", "lfw-deepfunneled", "Colin_Powell")
	a := newAPI(t)
	cfg := a.d.Active.Challenge
	names, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	require.NoError(t, err)
	type photo struct {
		img []byte
		obs challenge.Observation
	}
	var neutral *photo
	shown := map[challenge.Action]*photo{}
	for _, n := range names {
		if neutral != nil && len(shown) >= 2 {
			break
		}
		b, err := os.ReadFile(n)
		require.NoError(t, err)
		an, err := a.d.Bio.Analyze(b, biometric.Options{QualityMode: biometric.QualityDisabled})
		if err != nil || an.FaceCount != 1 {
			continue
		}
		p := &photo{b, liveness.Observe(an, 0)}
		if neutral == nil && challenge.Performs(p.obs, cfg, "") && math.Abs(p.obs.Yaw)+math.Abs(p.obs.Pitch) < 6 {
			neutral = p
		}
		for _, act := range []challenge.Action{challenge.TurnLeft, challenge.TurnRight, challenge.LookUp, challenge.LookDown} {
			if shown[act] == nil && challenge.Performs(p.obs, cfg, act) {
				shown[act] = p
			}
		}
	}
	require.NotNil(t, neutral)
	require.NotEmpty(t, shown)

	// New sessions until the drawn challenge is one the photos show.
	attempt := func() (string, map[string]any, challenge.Action) {
		for range 40 {
			sid := a.session(a.key, `{"imageStorageEnabled":true}`)["id"].(string)
			p := a.initLiveness(a.key, sid, `{"type":"MEDIUM","nbChallenge":1,"securityLevel":"LOW"}`, 200)
			if act := challenge.Action(p["challenges"].([]any)[0].(string)); shown[act] != nil {
				return sid, p, act
			}
		}
		t.Fatal("no drawn challenge matched the photos in 40 sessions")
		return "", nil, ""
	}
	sid, p, act := attempt()
	frames := [][]byte{neutral.img, neutral.img, neutral.img, shown[act].img, shown[act].img, shown[act].img, neutral.img, neutral.img, neutral.img}
	_, zip := captureOf(t, sid, p, frames)
	r := a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 200)
	a.verified(r)
	require.Equal(t, "SUCCESS", r["livenessStatus"], "%v: %v", act, r)
	assert.Nil(t, r["diagnostic"])
	assert.Equal(t, true, r["challenges"].([]any)[0].(map[string]any)["met"])
	best, _ := r["bestImageId"].(string)
	require.NotEmpty(t, best, "a live capture's best frame becomes a face of the session")
	face := a.object("GET", "/v2/bio-sessions/"+sid+"/faces/"+best, "", nil, a.key, 200)
	assert.Equal(t, "liveness best frame", face["friendlyName"])
	m := r["checks"].(map[string]any)["measures"].(map[string]any)
	assert.Equal(t, false, m["planar"])
	assert.Positive(t, m["planarPairs"])

	// The same capture, but another person comes back to the camera after
	// the movement: the identity check fails it.
	sid, p, act = attempt()
	other := fixture(t, "biden.jpg")
	frames = [][]byte{neutral.img, neutral.img, neutral.img, shown[act].img, shown[act].img, shown[act].img, other, other, other}
	_, zip = captureOf(t, sid, p, frames)
	r = a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 200)
	assert.Equal(t, "FAILED", r["livenessStatus"], "%v", r)
	assert.Equal(t, "face changed", r["diagnostic"])

	// The frames in another order than their timestamps say: the movement
	// comes first, so the capture does not start facing the camera.
	sid, p, act = attempt()
	frames = [][]byte{shown[act].img, shown[act].img, shown[act].img, neutral.img, neutral.img, neutral.img}
	_, zip = captureOf(t, sid, p, frames)
	r = a.object("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, a.key, 200)
	assert.Equal(t, "FAILED", r["livenessStatus"], "%v", r)
}
