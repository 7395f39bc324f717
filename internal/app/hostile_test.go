package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// localService is the local server's composition (app.Local over every
// function's handler) on the real models and an embedded store seeded
// with the events fixture; intruder is the key of another tenant.
func localService(t *testing.T) (h http.Handler, intruder string) {
	t.Helper()
	g := build(t)
	st := g.Embedded
	var err error
	intruder, _, err = auth.Create(context.Background(), st, "intruder", "test", []string{auth.ScopeAll}, time.Now())
	require.NoError(t, err)
	return g.Local(), intruder
}

// hugePNG is a valid PNG signature and header that claims width x height.
func hugePNG(t *testing.T, width, height uint32) []byte {
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))))
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b[16:], width) // IHDR data starts at 16
	binary.BigEndian.PutUint32(b[20:], height)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// hugeJPEG patches the frame header of a JPEG to claim 65000 x 65000.
func hugeJPEG(t *testing.T, jpg []byte) []byte {
	b := bytes.Clone(jpg)
	for i := 2; i+9 < len(b) && b[i] == 0xFF; {
		if m := b[i+1]; m == 0xC0 || m == 0xC1 || m == 0xC2 {
			binary.BigEndian.PutUint16(b[i+5:], 65000)
			binary.BigEndian.PutUint16(b[i+7:], 65000)
			return b
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	t.Fatal("no frame header")
	return nil
}

type mpart struct {
	disposition, contentType string
	body                     []byte
}

func mpBody(t *testing.T, kind string, parts ...mpart) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.disposition != "" {
			h.Set("Content-Disposition", p.disposition)
		}
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = pw.Write(p.body)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return "multipart/" + kind + "; boundary=" + w.Boundary(), buf.Bytes()
}

func named(name, ct string, body []byte) mpart {
	return mpart{`form-data; name="` + name + `"; filename="` + name + `"`, ct, body}
}

// hostile is one request that must get a 4xx with the error object.
type hostile struct {
	name, method, path, ct string
	body                   []byte
	key                    string // "" means the fixture key; "-" none
	want                   int    // 0: any 4xx
	code                   string // "": any
}

// TestHostileRequests sends hostile requests to every route of the local
// composition of the real handlers: each gets a 4xx with the error object
// (its id the X-Request-Id), never a 500, and the service still answers.
func TestHostileRequests(t *testing.T) {
	h, intruder := localService(t)
	obama, err := os.ReadFile(testkit.Testdata(t, "faces", "obama.jpg"))
	require.NoError(t, err)
	b64 := base64.StdEncoding.EncodeToString(obama)
	long := strings.Repeat("x", 450<<10)
	js := func(v any) []byte {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return b
	}
	const appJSON = "application/json"
	sess, face := "/v2/bio-sessions/"+app.FixtureSession, "/faces/"+app.FixtureFace1

	var cases []hostile
	add := func(c ...hostile) { cases = append(cases, c...) }

	// Every route: a wrong method, a bare OPTIONS, an over-long id, no key.
	for _, fn := range app.Functions(&httpapi.Deps{}) {
		for _, r := range httpapi.Routes(fn) {
			p := strings.NewReplacer("{id}", app.FixtureSession, "{faceId}", app.FixtureFace1, "{referenceFaceId}", app.FixtureFace1,
				"{classId}", fmt.Sprint(app.FixtureClass), "{name}", app.FixtureGallery, "{livenessMode}", "LIVENESS_HIGH").Replace(r.Path)
			add(hostile{name: "PATCH " + r.Path, method: "PATCH", path: p, want: 405},
				hostile{name: "OPTIONS " + r.Path, method: "OPTIONS", path: p, want: 405})
			if r.Scope != "" {
				add(hostile{name: "no key " + r.Method + " " + r.Path, method: r.Method, path: p, key: "-", want: 401})
			}
			if strings.Contains(r.Path, "{") {
				lp := strings.NewReplacer("{id}", strings.Repeat("s", 2000), "{faceId}", strings.Repeat("f", 2000),
					"{referenceFaceId}", strings.Repeat("f", 2000), "{classId}", strings.Repeat("9", 2000), "{name}", strings.Repeat("g", 2000),
					"{livenessMode}", strings.Repeat("m", 2000)).Replace(r.Path)
				add(hostile{name: "long id " + r.Method + " " + r.Path, method: r.Method, path: lp, ct: appJSON, body: []byte(`{}`)})
			}
		}
	}

	// Another tenant's ids.
	for _, r := range []struct{ method, path string }{
		{"GET", sess}, {"DELETE", sess}, {"GET", sess + "/faces"}, {"DELETE", sess + "/faces"}, {"GET", sess + face},
		{"DELETE", sess + face}, {"GET", sess + face + "/image"}, {"GET", sess + face + "/matches"},
		{"GET", sess + "/liveness-parameters"}, {"GET", sess + "/recording"},
		{"GET", fmt.Sprintf("/v2/templates/%d", app.FixtureClass)}, {"DELETE", fmt.Sprintf("/v2/templates/%d", app.FixtureClass)},
		{"DELETE", "/v2/galleries/" + app.FixtureGallery}, {"GET", "/v2/galleries/" + app.FixtureGallery + "/members"},
	} {
		add(hostile{name: "other tenant " + r.method + " " + r.path, method: r.method, path: r.path, key: intruder, want: 404})
	}
	add(hostile{name: "other tenant verify", method: "POST", path: fmt.Sprintf("/v2/verify/%d", app.FixtureClass), ct: appJSON,
		body: js(map[string]string{"image": b64}), key: intruder, want: 404},
		hostile{name: "other tenant face", method: "POST", path: sess + "/faces", ct: appJSON, body: js(map[string]string{"image": b64}), key: intruder, want: 404},
		hostile{name: "other tenant identify", method: "POST", path: "/v2/galleries/" + app.FixtureGallery + "/identify", ct: appJSON,
			body: js(map[string]string{"image": b64}), key: intruder, want: 404},
		hostile{name: "unknown session", method: "GET", path: "/v2/bio-sessions/00000000-0000-4000-8000-000000000000", want: 404},
		hostile{name: "unknown webhook", method: "GET", path: "/v2/webhooks/nope", want: 404},
		hostile{name: "unknown path", method: "GET", path: "/v2/nothing", want: 404},
	)

	// Paths with dot segments.
	for _, p := range []string{"/v2/bio-sessions/../capabilities", "/v2/./capabilities", "/v2/%2e%2e/v2/capabilities", "/v2//capabilities", "/v2/faces/.."} {
		add(hostile{name: "dots " + p, method: "GET", path: p, want: 400})
	}

	// Hostile images on every image route.
	truncated := obama[:len(obama)/3]
	imgs := map[string][]byte{"huge png": hugePNG(t, 60000, 60000), "huge jpeg": hugeJPEG(t, obama), "truncated": truncated,
		"text": []byte("not an image at all"), "empty": {}, "zero dims": hugePNG(t, 0, 0)}
	for name, img := range imgs {
		ct, body := mpBody(t, "form-data", named("image", "image/jpeg", img))
		add(hostile{name: "face " + name, method: "POST", path: "/v2/faces", ct: ct, body: body},
			hostile{name: "session face " + name, method: "POST", path: sess + "/faces", ct: ct, body: body},
			hostile{name: "liveness " + name, method: "POST", path: "/v2/liveness", ct: appJSON, body: js(map[string]string{"image": base64.StdEncoding.EncodeToString(img)})},
			hostile{name: "verify " + name, method: "POST", path: fmt.Sprintf("/v2/verify/%d", app.FixtureClass), ct: appJSON,
				body: js(map[string]string{"image": base64.StdEncoding.EncodeToString(img)})},
			hostile{name: "identify " + name, method: "POST", path: "/v2/galleries/" + app.FixtureGallery + "/identify", ct: appJSON,
				body: js(map[string]string{"image": base64.StdEncoding.EncodeToString(img)})})
		mct, mbody := mpBody(t, "form-data", named("referenceImage", "image/jpeg", obama), named("candidateImage", "image/jpeg", img))
		add(hostile{name: "match images " + name, method: "POST", path: "/v2/match/images", ct: mct, body: mbody})
	}

	// Wrong content types, bad base64, bad JSON.
	for _, p := range []string{"/v2/faces", sess + "/faces", "/v2/match/images", "/v2/match", "/v2/liveness", "/v2/bio-sessions",
		"/v2/enroll/77", "/v2/verify/1001", "/v2/galleries", "/v2/webhooks", "/v2/galleries/staff/identify", sess + "/init-liveness-parameters"} {
		add(hostile{name: "text/plain " + p, method: "POST", path: p, ct: "text/plain", body: []byte("hello"), want: 415},
			hostile{name: "bad json " + p, method: "POST", path: p, ct: appJSON, body: []byte(`{"image":`)},
			hostile{name: "unknown field " + p, method: "POST", path: p, ct: appJSON, body: []byte(`{"ttl":60}`), want: 400})
	}
	add(hostile{name: "bad base64 face", method: "POST", path: "/v2/faces", ct: appJSON, body: []byte(`{"image":"!!!not base64!!!"}`), want: 400},
		hostile{name: "bad base64 verify", method: "POST", path: "/v2/verify/1001", ct: appJSON, body: []byte(`{"image":"%%%"}`), want: 400},
		hostile{name: "bad base64 enroll", method: "POST", path: "/v2/enroll/77", ct: appJSON, body: []byte(`[{"image":"@@@"}]`), want: 400},
		hostile{name: "image not a string", method: "POST", path: "/v2/faces", ct: appJSON, body: []byte(`{"image":{"a":1}}`), want: 400},
		hostile{name: "multipart without boundary", method: "POST", path: "/v2/faces", ct: "multipart/form-data", body: []byte("x"), want: 400},
		hostile{name: "garbage multipart", method: "POST", path: "/v2/faces", ct: "multipart/form-data; boundary=zz", body: []byte("--zz\r\nxx"), want: 400},
		hostile{name: "session ttl array of 2", method: "POST", path: "/v2/bio-sessions", ct: appJSON, body: []byte(`[{},{}]`), want: 400},
		hostile{name: "session negative ttl", method: "POST", path: "/v2/bio-sessions", ct: appJSON, body: []byte(`{"ttlSeconds":-5}`), want: 400},
		hostile{name: "session duplicate member", method: "POST", path: "/v2/bio-sessions", ct: appJSON, body: []byte(`{"ttlSeconds":60,"ttlSeconds":86400}`), want: 400},
	)

	// Over-long free text on every path that takes some.
	add(hostile{name: "long correlationId session", method: "POST", path: "/v2/bio-sessions", ct: appJSON, body: js(map[string]string{"correlationId": long}), want: 0},
		hostile{name: "long friendlyName face json", method: "POST", path: "/v2/faces", ct: appJSON, body: js(map[string]string{"image": b64, "friendlyName": long}), want: 400},
		hostile{name: "long correlationId match", method: "POST", path: "/v2/match/images", ct: appJSON,
			body: js(map[string]string{"referenceImage": b64, "candidateImage": b64, "correlationId": long}), want: 400},
		hostile{name: "long description gallery", method: "POST", path: "/v2/galleries", ct: appJSON, body: js(map[string]string{"name": "g1", "description": long}), want: 0},
		hostile{name: "long callbackURL", method: "POST", path: "/v2/bio-sessions", ct: appJSON, body: js(map[string]string{"callbackURL": "https://example.com/" + long}), want: 0},
		hostile{name: "long level", method: "GET", path: sess + face + "/matches?level=" + strings.Repeat("H", 5000), want: 400},
		hostile{name: "long webhook url", method: "POST", path: "/v2/webhooks", ct: appJSON, body: js(map[string]any{"url": "https://example.com/" + long, "events": []string{"face.created"}}), want: 0},
	)
	tooLong := strings.Repeat("y", 10<<10)
	for _, field := range []string{"friendlyName", "correlationId", "imageKey", "mode", "imageType", "qualityMode"} {
		ct, body := mpBody(t, "form-data", named("face", appJSON, js(map[string]string{field: tooLong})), named("image", "image/jpeg", obama))
		add(hostile{name: "long " + field + " in face part", method: "POST", path: sess + "/faces", ct: ct, body: body, want: 400, code: fault.CodeFieldTooLong},
			hostile{name: "long " + field + " at the top", method: "POST", path: "/v2/faces", ct: appJSON,
				body: js(map[string]string{"image": b64, field: tooLong}), want: 400, code: fault.CodeFieldTooLong})
		ct, body = mpBody(t, "form-data", named("face", appJSON, js(map[string]string{field: long})), named("image", "image/jpeg", obama))
		add(hostile{name: "450 KB " + field + " in face part", method: "POST", path: sess + "/faces", ct: ct, body: body, want: 400, code: fault.CodeFieldTooLong})
		ct, body = mpBody(t, "form-data", named(field, "text/plain", []byte(long)), named("image", "image/jpeg", obama))
		add(hostile{name: "450 KB " + field + " part", method: "POST", path: sess + "/faces", ct: ct, body: body, want: 400, code: fault.CodeFieldTooLong})
	}
	for _, c := range []struct{ path, field string }{{"/v2/bio-sessions", "correlationId"}, {"/v2/galleries", "description"}, {"/v2/bio-sessions", "callbackURL"}} {
		body := map[string]string{c.field: "https://example.com/" + tooLong}
		if c.path == "/v2/galleries" {
			body["name"] = "g2"
		}
		add(hostile{name: "long " + c.field + " " + c.path, method: "POST", path: c.path, ct: appJSON,
			body: js(body), want: 400, code: fault.CodeFieldTooLong})
	}
	add(hostile{name: "long friendlyName face from JSON", method: "POST", path: sess + "/faces", ct: appJSON,
		body: js(map[string]any{"template": "AAAA", "imageType": "SELFIE", "friendlyName": long}), want: 400})

	// Duplicate, unknown and conflicting fields.
	dupCT, dupBody := mpBody(t, "form-data", named("image", "image/jpeg", obama), named("image", "image/jpeg", obama))
	dupFaceCT, dupFaceBody := mpBody(t, "mixed", mpart{`attachment; name="face"`, "", []byte(`{"imageType":"SELFIE"}`)},
		mpart{`attachment; name="face"`, "", []byte(`{"imageType":"ID_DOCUMENT"}`)}, mpart{`attachment; name="image"`, "image/jpeg", obama})
	unkCT, unkBody := mpBody(t, "form-data", named("image", "image/jpeg", obama), named("colour", "text/plain", []byte("blue")))
	unkFaceCT, unkFaceBody := mpBody(t, "form-data", named("face", appJSON, []byte(`{"imageType":"SELFIE","ttl":3}`)), named("image", "image/jpeg", obama))
	add(hostile{name: "duplicate image parts", method: "POST", path: "/v2/faces", ct: dupCT, body: dupBody, want: 400},
		hostile{name: "duplicate face parts", method: "POST", path: sess + "/faces", ct: dupFaceCT, body: dupFaceBody, want: 400},
		hostile{name: "unknown part", method: "POST", path: "/v2/faces", ct: unkCT, body: unkBody, want: 400},
		hostile{name: "unknown face member", method: "POST", path: "/v2/faces", ct: unkFaceCT, body: unkFaceBody, want: 400},
		hostile{name: "identify level and minScore", method: "POST", path: "/v2/galleries/staff/identify", ct: appJSON,
			body: js(map[string]any{"image": b64, "level": "HIGH", "minScore": 3000}), want: 400},
		hostile{name: "identify minScore and FAR", method: "POST", path: "/v2/galleries/staff/identify", ct: appJSON,
			body: js(map[string]any{"image": b64, "maxFalseAcceptanceRate": 0.01, "minScore": 3000}), want: 400},
		hostile{name: "identify minScore beyond float", method: "POST", path: "/v2/galleries/staff/identify", ct: appJSON,
			body: js(map[string]any{"image": b64, "minScore": 1e308}), want: 400},
		hostile{name: "identify tiny FAR", method: "POST", path: "/v2/galleries/staff/identify", ct: appJSON,
			body: js(map[string]any{"image": b64, "maxFalseAcceptanceRate": 5e-324}), want: 400},
		hostile{name: "compression maybe", method: "GET", path: sess + face + "/image?compression=maybe", want: 400},
		hostile{name: "thumbnails maybe", method: "GET", path: "/v2/templates/1001?thumbnails=maybe", want: 400},
		hostile{name: "members limit", method: "GET", path: "/v2/galleries/staff/members?limit=-1", want: 400},
		hostile{name: "usage bad time", method: "GET", path: "/v2/usage?from=yesterday", want: 400},
	)

	// Callback URLs the SSRF rules refuse.
	for _, u := range []string{"https://127.0.0.1/cb", "https://10.1.2.3/cb", "https://169.254.169.254/latest/meta-data", "https://user:pw@example.com/cb",
		"https://localhost/cb", "https://[::1]/cb", "ftp://example.com/cb", "https://0x7f.1/cb"} {
		add(hostile{name: "callback " + u, method: "POST", path: "/v2/bio-sessions", ct: appJSON, body: js(map[string]string{"callbackURL": u}), want: 400})
	}

	// Forged templates.
	for name, tpl := range map[string]string{"garbage": "AAAA", "not base64": "!!", "truncated": "RkxUUAEAAAA", "huge": base64.StdEncoding.EncodeToString(make([]byte, 60<<10))} {
		ref := js(map[string]any{"imageType": "SELFIE", "template": tpl})
		ct, body := mpBody(t, "form-data", named("reference", appJSON, ref), named("candidateImage", "image/jpeg", obama))
		add(hostile{name: "forged template match " + name, method: "POST", path: "/v2/match", ct: ct, body: body, want: 400},
			hostile{name: "forged template session face " + name, method: "POST", path: sess + "/faces", ct: appJSON, body: ref, want: 400})
	}

	// Liveness parameters and capture.
	add(hostile{name: "liveness params unknown type", method: "POST", path: sess + "/init-liveness-parameters", ct: appJSON, body: []byte(`{"type":"ULTRA"}`), want: 400},
		hostile{name: "liveness params nbChallenge", method: "POST", path: sess + "/init-liveness-parameters", ct: appJSON, body: []byte(`{"type":"HIGH","nbChallenge":1000000}`), want: 400},
		hostile{name: "capture without parameters", method: "POST", path: sess + "/liveness-capture", ct: "application/zip", body: []byte("PK\x03\x04garbage")},
		hostile{name: "replay garbage", method: "POST", path: sess + "/replay-liveness-metadata", ct: "multipart/form-data; boundary=zz", body: []byte("--zz--\r\n")},
		hostile{name: "challenge result unknown mode", method: "GET", path: sess + "/liveness-challenge-result/NOPE"},
		hostile{name: "liveness bad threshold", method: "POST", path: "/v2/liveness", ct: appJSON, body: js(map[string]string{"image": b64, "threshold": "MAXIMAL"}), want: 400},
		hostile{name: "upload bad content type", method: "POST", path: "/v2/uploads", ct: appJSON, body: []byte(`{"contentType":"text/html"}`), want: 415},
		hostile{name: "upload key of another tenant", method: "POST", path: "/v2/faces", ct: appJSON, body: []byte(`{"imageKey":"uploads/acme/x"}`), want: 404},
	)

	require.GreaterOrEqual(t, len(cases), 100)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "http://local"+c.path, bytes.NewReader(c.body))
			switch c.key {
			case "":
				req.Header.Set("apikey", app.FixtureKey)
			case "-":
			default:
				req.Header.Set("apikey", c.key)
			}
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			raw, _ := io.ReadAll(res.Body)
			if c.want != 0 {
				assert.Equal(t, c.want, res.StatusCode, "%.300s", raw)
			}
			require.GreaterOrEqual(t, res.StatusCode, 400, "%.300s", raw)
			require.Less(t, res.StatusCode, 500, "%.300s", raw)
			assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
			var e httpapi.ErrorBody
			require.NoError(t, json.Unmarshal(raw, &e), "%.300s", raw)
			if c.code != "" {
				assert.Equal(t, c.code, e.Code, "%.300s", raw)
			}
			assert.NotEmpty(t, e.Code)
			assert.NotEmpty(t, e.Message)
			assert.Less(t, len(e.Message), 1024, "the message does not echo the input")
			assert.Equal(t, res.Header.Get("X-Request-Id"), e.ID)
			if res.StatusCode == http.StatusMethodNotAllowed {
				assert.NotEmpty(t, res.Header.Get("Allow"))
			}
		})
	}
	t.Logf("%d hostile requests", len(cases))

	// The service still answers, with real work.
	ct, body := mpBody(t, "mixed", mpart{`attachment; name="face"`, "", []byte(`{"imageType":"ID_DOCUMENT"}`)}, mpart{`attachment; name="image"`, "image/jpeg", obama})
	req := httptest.NewRequest("POST", sess+"/faces", bytes.NewReader(body))
	req.Header.Set("apikey", app.FixtureKey)
	req.Header.Set("Content-Type", ct)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"imageType":"ID_DOCUMENT"`)
	req = httptest.NewRequest("GET", "/v2/monitor", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}
