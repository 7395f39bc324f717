package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/app/apptest"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// testKey is the API key do() sends (all scopes, tenant "acme").
var testKey string

// fakeDeps returns the handler dependencies app.Build makes of the
// embedded store in a temporary folder, on the fake face engine
// (biometrictest): for tests of HTTP behaviour, without ONNX Runtime and
// without liveness; the API key is in testKey.
func fakeDeps(t testing.TB) *httpapi.Deps {
	t.Helper()
	return graph(t, apptest.Fake(app.Everything)).Deps
}

// graph builds the parts need asks through app.Build (apptest.Graph), with
// an API key in testKey.
func graph(t testing.TB, need app.Need) *app.Graph {
	t.Helper()
	g := apptest.Graph(t, need, nil)
	testKey = apptest.Key(t, g, "acme")
	return g
}

// service is the biometric service on the real models (skipped without them).
func service(t testing.TB) *biometric.Service { return biometrictest.Real(t) }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testkit.Testdata(t, "faces", name))
	require.NoError(t, err)
	return b
}

// fakeFixture is the fake engine's stand-in for the fixture name
// (biometrictest pictures): one colour per person, the same face counts,
// and faces small where the fixture's are.
func fakeFixture(t testing.TB, name string) []byte {
	t.Helper()
	type face = biometrictest.Face
	pics := map[string]*image.RGBA{
		"obama.jpg":      biometrictest.Draw(480, 360, face{ID: 1, X: 140, Y: 80, Size: 200}),
		"obama2.jpg":     biometrictest.Draw(520, 400, face{ID: 1, X: 180, Y: 90, Size: 220}),
		"biden.jpg":      biometrictest.Draw(480, 360, face{ID: 2, X: 120, Y: 70, Size: 210}),
		"biden2.jpg":     biometrictest.Draw(500, 380, face{ID: 2, X: 160, Y: 60, Size: 190}),
		"obama-240p.jpg": biometrictest.Draw(320, 240, face{ID: 1, X: 110, Y: 60, Size: 110}),
		"two_people.jpg": biometrictest.Draw(640, 360, face{ID: 1, X: 40, Y: 60, Size: 220}, face{ID: 2, X: 380, Y: 100, Size: 160}),
		"coffee.png":     biometrictest.Draw(320, 240),
	}
	pic, ok := pics[name]
	require.True(t, ok, "no fake stand-in for %s", name)
	var buf bytes.Buffer
	if strings.HasSuffix(name, ".png") {
		require.NoError(t, png.Encode(&buf, pic))
	} else {
		require.NoError(t, jpeg.Encode(&buf, pic, &jpeg.Options{Quality: 92}))
	}
	return buf.Bytes()
}

type part struct {
	name, contentType string
	body              []byte
}

func multipartBody(t testing.TB, kind string, parts ...part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.name != "" {
			h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="`+p.name+`"`)
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

func do(t testing.TB, h http.Handler, method, path, ct string, body []byte) (*http.Response, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if testKey != "" {
		req.Header.Set("apikey", testKey)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), "body: %s", raw)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	return res, m
}

func jsonBody(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestCreateFace(t *testing.T) {
	h := httpapi.FaceHandler(fakeDeps(t))
	img := fakeFixture(t, "obama.jpg")
	faceJSON := []byte(`{"imageType":"SELFIE","friendlyName":"Presidential portrait","imageRotationEnabled":false,"correlationId":"c-1"}`)

	formCT, formBody := multipartBody(t, "form-data", part{"face", "application/json", faceJSON}, part{"image", "image/jpeg", img})
	mixedCT, mixedBody := multipartBody(t, "mixed", part{"", "application/json", faceJSON}, part{"", "image/jpeg", img})
	jsonReq := jsonBody(t, map[string]any{"image": base64.StdEncoding.EncodeToString(img), "imageType": "SELFIE",
		"friendlyName": "Presidential portrait", "correlationId": "c-1", "imageRotationEnabled": false})

	for _, tc := range []struct {
		name, ct string
		body     []byte
	}{
		{"form-data", formCT, formBody}, {"mixed", mixedCT, mixedBody}, {"json", "application/json", jsonReq},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, m := do(t, h, "POST", "/v2/faces", tc.ct, tc.body)
			require.Equal(t, 200, res.StatusCode, m)
			assert.Equal(t, "Presidential portrait", m["friendlyName"])
			assert.Equal(t, "SELFIE", m["imageType"])
			assert.Equal(t, "c-1", m["correlationId"])
			assert.Len(t, m["digest"], 64)
			assert.Greater(t, m["quality"], 100.0)
			assert.EqualValues(t, 1, m["templateVersion"])
			assert.EqualValues(t, 1, m["facesFound"])
			eyes := m["landmarks"].(map[string]any)["eyes"].(map[string]any)
			assert.Less(t, eyes["x1"], eyes["x2"])
			for _, k := range []string{"id", "created", "mode", "box", "qualityMeasures"} {
				assert.Contains(t, m, k)
			}
			tpl, err := template.ParseBase64(m["template"].(string), service(t).Encoder())
			require.NoError(t, err)
			assert.Len(t, tpl.Vector, 512)
		})
	}
}

func TestCreateFaceRejects(t *testing.T) {
	h := httpapi.FaceHandler(fakeDeps(t))
	img := fakeFixture(t, "obama.jpg")
	form := func(parts ...part) (string, []byte) { return multipartBody(t, "form-data", parts...) }
	twoCT, twoBody := form(part{"image", "image/jpeg", fakeFixture(t, "two_people.jpg")})
	noneCT, noneBody := form(part{"image", "image/png", fakeFixture(t, "coffee.png")})
	missCT, missBody := form(part{"face", "application/json", []byte(`{"imageType":"SELFIE"}`)})
	badFaceCT, badFaceBody := form(part{"face", "application/json", []byte(`{"imageType":`)}, part{"image", "image/jpeg", img})
	badTypeCT, badTypeBody := form(part{"face", "application/json", []byte(`{"imageType":"PASSPORT"}`)}, part{"image", "image/jpeg", img})
	enrolCT, enrolBody := form(part{"face", "application/json", []byte(`{"qualityMode":"ENROL"}`)}, part{"image", "image/jpeg", fakeFixture(t, "obama-240p.jpg")})
	truncCT, truncBody := form(part{"image", "image/jpeg", img[:len(img)/2]})
	hugeCT, hugeBody := form(part{"image", "image/png", hugePNG(t)})
	bigCT, bigBody := form(part{"image", "image/jpeg", bytes.Repeat([]byte{0xff}, 16<<20)})

	tests := []struct {
		name, ct string
		body     []byte
		status   int
		code     string
	}{
		{"two faces", twoCT, twoBody, 400, fault.CodeMultipleFaces},
		{"no face", noneCT, noneBody, 400, fault.CodeFaceNotFound},
		{"missing image", missCT, missBody, 400, fault.CodeInvalidRequest},
		{"bad face json", badFaceCT, badFaceBody, 400, fault.CodeInvalidRequest},
		{"bad image type", badTypeCT, badTypeBody, 400, fault.CodeInvalidRequest},
		{"quality gate", enrolCT, enrolBody, 400, fault.CodeQualityCheck},
		{"truncated image", truncCT, truncBody, 400, fault.CodeInvalidImage},
		{"too many pixels", hugeCT, hugeBody, 413, fault.CodeImageTooLarge},
		{"too many bytes", bigCT, bigBody, 413, fault.CodeImageTooLarge},
		{"bad json", "application/json", []byte(`{"image": `), 400, fault.CodeInvalidRequest},
		{"bad base64", "application/json", []byte(`{"image": "%%%not base64%%%"}`), 400, fault.CodeInvalidRequest},
		{"image not a string", "application/json", []byte(`{"image": 12}`), 400, fault.CodeInvalidRequest},
		{"not an image", "application/json", jsonBody(t, map[string]string{"image": base64.StdEncoding.EncodeToString([]byte("plain text, no pixels"))}), 415, fault.CodeUnsupportedImage},
		{"wrong content type", "text/plain", []byte("hello"), 415, fault.CodeUnsupportedMedia},
		{"no content type", "", []byte("hello"), 415, fault.CodeUnsupportedMedia},
		{"multipart without boundary", "multipart/form-data", []byte("x"), 400, fault.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, m := do(t, h, "POST", "/v2/faces", tt.ct, tt.body)
			assert.Equal(t, tt.status, res.StatusCode, m)
			assert.Equal(t, tt.code, m["code"], m)
			assert.NotEmpty(t, m["id"])
			assert.NotEmpty(t, m["message"])
		})
	}
	t.Run("unknown path", func(t *testing.T) {
		res, m := do(t, h, "GET", "/v2/nothing", "", nil)
		assert.Equal(t, 404, res.StatusCode)
		assert.Equal(t, fault.CodeNotFound, m["code"])
	})
	t.Run("wrong method", func(t *testing.T) {
		res, m := do(t, h, "GET", "/v2/faces", "", nil)
		assert.Equal(t, 405, res.StatusCode)
		assert.Equal(t, fault.CodeMethodNotAllowed, m["code"])
	})
}

// hugePNG is a tiny file whose header claims 20000 x 20000 pixels.
func hugePNG(t testing.TB) []byte {
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))))
	b := buf.Bytes()
	// IHDR width and height live at offsets 16 and 20; fix the CRC after.
	copy(b[16:24], []byte{0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20})
	return fixCRC(b, 12, 13)
}

func TestMatchImages(t *testing.T) {
	h := httpapi.MatchHandler(fakeDeps(t))
	match := func(ref, cand string, extra ...part) (*http.Response, map[string]any) {
		parts := append([]part{{"referenceImage", "image/jpeg", fakeFixture(t, ref)}, {"candidateImage", "image/jpeg", fakeFixture(t, cand)},
			{"referenceImageType", "", []byte("SELFIE")}, {"candidateImageType", "", []byte("SELFIE")}}, extra...)
		ct, body := multipartBody(t, "form-data", parts...)
		return do(t, h, "POST", "/v2/match/images", ct, body)
	}
	res, m := match("obama.jpg", "obama2.jpg", part{"level", "", []byte("HIGH")}, part{"correlationId", "", []byte("m-1")})
	require.Equal(t, 200, res.StatusCode, m)
	assert.Equal(t, true, m["possibleMatch"])
	assert.Greater(t, m["score"], 3500.0)
	assert.Less(t, m["falseAcceptanceRate"], 1e-4)
	assert.GreaterOrEqual(t, m["similarityScore"], 90.0)
	assert.Contains(t, []any{"HIGH", "VERY_HIGH", "HIGHEST"}, m["matchHighestSecurityLevelReached"])
	assert.Equal(t, "m-1", m["correlationId"])
	assert.Equal(t, "SELFIE_VS_SELFIE", m["comparisonType"])
	for _, k := range []string{"reference", "candidate", "created", "similarity"} {
		assert.Contains(t, m, k)
	}

	res, m = match("obama.jpg", "biden.jpg", part{"level", "", []byte("MEDIUM")})
	require.Equal(t, 200, res.StatusCode, m)
	assert.Equal(t, false, m["possibleMatch"])
	assert.NotContains(t, m, "matchHighestSecurityLevelReached")
	assert.Less(t, m["score"], 2500.0)

	res, m = match("biden.jpg", "two_people.jpg")
	require.Equal(t, 200, res.StatusCode, m)
	assert.Equal(t, true, m["multipleFacesImage"])
	assert.Equal(t, false, m["multipleFacesImageToVerifyAgainst"])
	assert.NotContains(t, m, "possibleMatch", "no level, no decision")

	res, m = match("obama.jpg", "coffee.png")
	assert.Equal(t, 400, res.StatusCode)
	assert.Equal(t, fault.CodeFaceNotFound, m["code"])
	assert.Contains(t, m["message"], "candidateImage")

	res, m = match("obama.jpg", "obama2.jpg", part{"level", "", []byte("EXTREME")})
	assert.Equal(t, 400, res.StatusCode)
	assert.Equal(t, fault.CodeInvalidRequest, m["code"])
}

func TestMatchTemplate(t *testing.T) {
	d := fakeDeps(t)
	s := d.Bio
	// A face created from an image is the reference of a later match.
	ct, body := multipartBody(t, "form-data", part{"image", "image/jpeg", fakeFixture(t, "obama.jpg")})
	res, faceJSON := do(t, httpapi.FaceHandler(d), "POST", "/v2/faces", ct, body)
	require.Equal(t, 200, res.StatusCode, faceJSON)

	h := httpapi.MatchHandler(d)
	req := map[string]any{"reference": []any{faceJSON}, "candidateImage": base64.StdEncoding.EncodeToString(fakeFixture(t, "obama2.jpg")),
		"candidateImageType": "SELFIE", "level": "HIGH"}
	res, m := do(t, h, "POST", "/v2/match", "application/json", jsonBody(t, req))
	require.Equal(t, 200, res.StatusCode, m)
	assert.Equal(t, true, m["possibleMatch"])
	assert.NotEqual(t, faceJSON["id"], m["reference"].(map[string]any)["id"], "a client-supplied reference gets a fresh id")

	// Multipart: the reference face JSON as a part.
	ct, body = multipartBody(t, "form-data", part{"reference", "application/json", jsonBody(t, faceJSON)},
		part{"candidateImage", "image/jpeg", fakeFixture(t, "biden.jpg")}, part{"level", "", []byte("MEDIUM")})
	res, m = do(t, h, "POST", "/v2/match", ct, body)
	require.Equal(t, 200, res.StatusCode, m)
	assert.Equal(t, false, m["possibleMatch"])

	// A template of another encoder is refused, naming both versions.
	other := template.Template{Encoder: "fr_feature-512-v0", Vector: make([]float32, 512)}
	other.Vector[0] = 1
	old := map[string]any{"template": other.Base64(), "imageType": "SELFIE"}
	req["reference"] = old
	res, m = do(t, h, "POST", "/v2/match", "application/json", jsonBody(t, req))
	assert.Equal(t, 400, res.StatusCode)
	assert.Equal(t, fault.CodeTemplateVersion, m["code"])
	assert.Contains(t, m["message"], "fr_feature-512-v0")
	assert.Contains(t, m["message"], s.Encoder())

	req["reference"] = map[string]any{"template": "bm90IGEgdGVtcGxhdGU=", "imageType": "SELFIE"}
	res, m = do(t, h, "POST", "/v2/match", "application/json", jsonBody(t, req))
	assert.Equal(t, 400, res.StatusCode)
	assert.Equal(t, fault.CodeInvalidTemplate, m["code"])

	delete(req, "reference")
	res, m = do(t, h, "POST", "/v2/match", "application/json", jsonBody(t, req))
	assert.Equal(t, 400, res.StatusCode)
	assert.True(t, strings.Contains(m["message"].(string), "reference"))
}
