package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/core/template/templatetest"
)

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// refusal checks a 400 error object with the given code.
func refusal(t *testing.T, m map[string]any, code string) {
	t.Helper()
	assert.Equal(t, code, m["code"], "%v", m)
	assert.NotEmpty(t, m["message"])
	assert.NotEmpty(t, m["id"])
}

// TestForgedTemplatesRefusedByHandlers: every route that takes a client's
// template (POST /v2/match, a session face from face JSON, as a JSON body
// or a multipart face part) answers 400 INVALID_TEMPLATE to a forged
// vector in a well-formed template. Before the fix they were accepted, and
// a constant -1e38 vector matched anyone at HIGHEST.
func TestForgedTemplatesRefusedByHandlers(t *testing.T) {
	a := newFakeAPI(t)
	enc := a.d.Bio.Encoder()
	sid := a.session(a.key, `{}`)["id"].(string)
	cand := base64.StdEncoding.EncodeToString(a.image(t, "obama2.jpg"))
	for _, f := range templatetest.Vectors(a.d.Bio.Dimensions()) {
		t.Run(f.Name, func(t *testing.T) {
			face := map[string]any{"template": templatetest.Encode(enc, f.Vector), "imageType": "SELFIE", "quality": 100, "templateVersion": 1}
			m := a.object("POST", "/v2/match", "application/json",
				jsonBody(t, map[string]any{"reference": []any{face}, "candidateImage": cand, "level": "HIGHEST"}), a.key, 400)
			refusal(t, m, fault.CodeInvalidTemplate)

			m = a.object("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", jsonBody(t, face), a.key, 400)
			refusal(t, m, fault.CodeInvalidTemplate)

			ct, body := multipartBody(t, "form-data", part{"reference", "application/json", jsonBody(t, face)},
				part{"candidateImage", "image/jpeg", a.image(t, "obama2.jpg")})
			m = a.object("POST", "/v2/match", ct, body, a.key, 400)
			refusal(t, m, fault.CodeInvalidTemplate)
		})
	}
	_, out := a.call("GET", "/v2/bio-sessions/"+sid+"/faces", "", nil, a.key)
	assert.JSONEq(t, `[]`, string(out), "no forged face was stored")
}

// TestForgedFacesCannotBreakMatches: two forged faces in one session made
// /matches overflow to +Inf and answer 500. They cannot be created any
// more; and faces forged straight into the store (as an older version
// could have stored them) give a 400 INVALID_TEMPLATE naming the face,
// never a 500.
func TestForgedFacesCannotBreakMatches(t *testing.T) {
	a := newFakeAPI(t)
	enc := a.d.Bio.Encoder()
	dims := a.d.Bio.Dimensions()
	sid := a.session(a.key, `{}`)["id"].(string)
	real := a.addFace(a.key, sid, "obama.jpg")
	forged := func(v float32) map[string]any {
		vec := make([]float32, dims)
		for i := range vec {
			vec[i] = v
		}
		return map[string]any{"template": templatetest.Encode(enc, vec), "imageType": "SELFIE", "quality": 100}
	}
	for _, v := range []float32{-1e38, 1e38} {
		refusal(t, a.object("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", jsonBody(t, forged(v)), a.key, 400),
			fault.CodeInvalidTemplate)
	}
	res, out := a.call("GET", "/v2/bio-sessions/"+sid+"/faces/"+real["id"].(string)+"/matches?level=HIGH", "", nil, a.key)
	require.Equal(t, 200, res.StatusCode, "%s", out)

	// Forged records written past the API.
	ctx := context.Background()
	var ids []string
	for i, v := range []float32{-1e38, -1e38} {
		vec := make([]float32, dims)
		for j := range vec {
			vec[j] = v
		}
		raw, err := base64.StdEncoding.DecodeString(templatetest.Encode(enc, vec))
		require.NoError(t, err)
		id := fmt.Sprintf("forged-%d", i)
		meta, err := json.Marshal(map[string]any{"id": id, "imageType": "SELFIE", "quality": 100, "mode": enc, "encoder": enc, "templateVersion": 1})
		require.NoError(t, err)
		_, err = a.d.Records.PutFace(ctx, store.Face{Tenant: "acme", SessionID: sid, ID: id, Created: time.Now(), Data: meta, Template: raw})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	for _, path := range []string{ids[0], real["id"].(string)} {
		m := a.object("GET", "/v2/bio-sessions/"+sid+"/faces/"+path+"/matches?level=HIGH", "", nil, a.key, 400)
		refusal(t, m, fault.CodeInvalidTemplate)
		assert.Contains(t, m["message"], "forged-")
	}
}

// TestFaceJSONSignatureVerified: a face JSON sent back with its signature
// is accepted; one whose signature does not verify, is another face's, is
// another key's or whose fields were altered is a 400 INVALID_SIGNATURE.
func TestFaceJSONSignatureVerified(t *testing.T) {
	a := newFakeAPI(t)
	sid := a.session(a.key, `{}`)["id"].(string)
	obama := a.addFace(a.key, sid, "obama.jpg")
	biden := a.addFace(a.key, sid, "biden.jpg")
	a.verified(obama)

	strange, err := signing.LoadOrCreateLocal(filepath.Join(t.TempDir(), "other.pem"))
	require.NoError(t, err)
	strangeSig, err := strange.SignResource(obama)
	require.NoError(t, err)

	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for key, val := range obama {
			out[key] = val
		}
		out[k] = v
		return out
	}
	a.object("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", jsonBody(t, obama), a.key, 201)
	cand := base64.StdEncoding.EncodeToString(a.image(t, "obama2.jpg"))
	for _, tc := range []struct {
		name string
		face map[string]any
	}{
		{"garbage", with("signature", "not.a.jws")},
		{"another face's signature", with("signature", biden["signature"])},
		{"another key", with("signature", strangeSig)},
		{"altered imageType", with("imageType", "ID_DOCUMENT")},
		{"altered quality", with("quality", 180)},
		{"alg none", with("signature", "eyJhbGciOiJub25lIn0."+base64.RawURLEncoding.EncodeToString(jsonBody(t, obama))+".")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := a.object("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", jsonBody(t, tc.face), a.key, 400)
			refusal(t, m, fault.CodeInvalidSignature)
			m = a.object("POST", "/v2/match", "application/json",
				jsonBody(t, map[string]any{"reference": []any{tc.face}, "candidateImage": cand}), a.key, 400)
			refusal(t, m, fault.CodeInvalidSignature)
		})
	}
}

// signedPayload verifies a signed result against the JWKS and returns the
// signed payload, checking that it is the body without the signature.
func (a *api) signedPayload(m map[string]any) map[string]any {
	a.t.Helper()
	a.verified(m)
	payload, err := signing.Verify(m["signature"].(string), a.jwks)
	require.NoError(a.t, err)
	var out map[string]any
	require.NoError(a.t, json.Unmarshal(payload, &out))
	return out
}

// bound checks the claims of a signed result: the tenant, the request id
// of the response, an iat within the call, and the subjects.
func bound(t *testing.T, p map[string]any, tenant, requestID string, from, to time.Time, want []map[string]any) {
	t.Helper()
	assert.Equal(t, tenant, p["tenant"])
	require.NotEmpty(t, requestID)
	assert.Equal(t, requestID, p["requestId"])
	iat, ok := p["iat"].(float64)
	require.True(t, ok, "iat is a number: %v", p["iat"])
	assert.GreaterOrEqual(t, int64(iat), from.Unix())
	assert.LessOrEqual(t, int64(iat), to.Unix())
	raw, err := json.Marshal(p["subjects"])
	require.NoError(t, err)
	var got []map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, want, got)
}

// TestSignedResultsBound: each kind of signed decision verifies against
// the JWKS and binds the tenant, the request id, the issue time and the
// digests of what was compared or judged.
func TestSignedResultsBound(t *testing.T) {
	a := newAPI(t)
	globex := a.keyFor("globex")
	obama, obama2, biden := a.image(t, "obama.jpg"), a.image(t, "obama2.jpg"), a.image(t, "biden.jpg")
	b64 := base64.StdEncoding.EncodeToString
	tplOf := func(img []byte) string {
		an, err := a.d.Bio.Analyze(img, biometric.Options{})
		require.NoError(t, err)
		return an.Template.Digest()
	}

	// A direct face gives a reference template for /v2/match.
	face := a.object("POST", "/v2/faces", "application/json", jsonBody(t, map[string]any{"image": b64(obama)}), a.key, 200)
	refTpl, err := base64.StdEncoding.DecodeString(face["template"].(string))
	require.NoError(t, err)

	// A session with two faces, for /matches.
	sid := a.session(a.key, `{}`)["id"].(string)
	f1, f2 := a.addFace(a.key, sid, "obama.jpg"), a.addFace(a.key, sid, "obama2.jpg")
	a.enrol(a.key, 7, "obama.jpg")
	a.object("POST", "/v2/galleries", "application/json", []byte(`{"name":"staff"}`), a.key, 201)
	a.object("POST", "/v2/galleries/staff/members", "application/json", []byte(`{"classIds":[7]}`), a.key, 200)

	ct, matchForm := multipartBody(t, "form-data", part{"referenceImage", "image/jpeg", obama}, part{"candidateImage", "image/jpeg", biden})
	livCT, livForm := multipartBody(t, "form-data", part{"image", "image/jpeg", obama2})
	tests := []struct {
		name, method, path, ct string
		body                   []byte
		key, tenant            string
		status                 int
		subjects               []map[string]any
		list                   bool // the answer is an array of signed results
	}{
		{name: "match images multipart", method: "POST", path: "/v2/match/images", ct: ct, body: matchForm, key: a.key, tenant: "acme", status: 200,
			subjects: []map[string]any{
				{"role": "reference", "imageSha256": sha(obama), "templateSha256": tplOf(obama)},
				{"role": "candidate", "imageSha256": sha(biden), "templateSha256": tplOf(biden)}}},
		{name: "match images JSON, another tenant", method: "POST", path: "/v2/match/images", ct: "application/json",
			body: jsonBody(t, map[string]any{"referenceImage": b64(obama2), "candidateImage": b64(obama)}), key: globex, tenant: "globex", status: 200,
			subjects: []map[string]any{
				{"role": "reference", "imageSha256": sha(obama2), "templateSha256": tplOf(obama2)},
				{"role": "candidate", "imageSha256": sha(obama), "templateSha256": tplOf(obama)}}},
		{name: "match template", method: "POST", path: "/v2/match", ct: "application/json",
			body: jsonBody(t, map[string]any{"reference": face, "candidateImage": b64(obama2), "level": "HIGH"}), key: a.key, tenant: "acme", status: 200,
			subjects: []map[string]any{
				{"role": "reference", "templateSha256": sha(refTpl)},
				{"role": "candidate", "imageSha256": sha(obama2), "templateSha256": tplOf(obama2)}}},
		{name: "session matches", method: "GET", path: "/v2/bio-sessions/" + sid + "/faces/" + f1["id"].(string) + "/matches?level=HIGH",
			key: a.key, tenant: "acme", status: 200, list: true,
			subjects: []map[string]any{
				{"role": "reference", "id": f1["id"], "imageSha256": sha(obama), "templateSha256": tplOf(obama)},
				{"role": "candidate", "id": f2["id"], "imageSha256": sha(obama2), "templateSha256": tplOf(obama2)}}},
		{name: "verify", method: "POST", path: "/v2/verify/7", ct: "application/json",
			body: jsonBody(t, map[string]any{"image": b64(obama2)}), key: a.key, tenant: "acme", status: 200,
			subjects: []map[string]any{{"role": "probe", "imageSha256": sha(obama2)}, {"role": "reference", "id": "7"}}},
		{name: "identify", method: "POST", path: "/v2/galleries/staff/identify", ct: "application/json",
			body: jsonBody(t, map[string]any{"image": b64(obama2)}), key: a.key, tenant: "acme", status: 200,
			subjects: []map[string]any{{"role": "probe", "imageSha256": sha(obama2), "templateSha256": tplOf(obama2)}, {"role": "gallery", "id": "staff"}}},
		{name: "passive liveness", method: "POST", path: "/v2/liveness", ct: livCT, body: livForm, key: a.key, tenant: "acme", status: 200,
			subjects: []map[string]any{{"role": "image", "imageSha256": sha(obama2)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from := time.Now()
			res, out := a.call(tc.method, tc.path, tc.ct, tc.body, tc.key)
			to := time.Now()
			require.Equal(t, tc.status, res.StatusCode, "%s", out)
			var results []map[string]any
			if tc.list {
				require.NoError(t, json.Unmarshal(out, &results))
				require.Len(t, results, 1)
			} else {
				var m map[string]any
				require.NoError(t, json.Unmarshal(out, &m))
				results = []map[string]any{m}
			}
			for _, m := range results {
				bound(t, a.signedPayload(m), tc.tenant, res.Header.Get("X-Request-Id"), from, to, tc.subjects)
			}
		})
	}
}

// TestSignedChallengeResultsBound: the challenge results (capture answer,
// GET challenge result, replay answer and replay status) bind the tenant,
// the request, the time and the digest of the capture container judged.
func TestSignedChallengeResultsBound(t *testing.T) {
	a := newAPI(t)
	call := func(method, path, ct string, body []byte, status int) (map[string]any, string, time.Time, time.Time) {
		t.Helper()
		from := time.Now()
		res, out := a.call(method, path, ct, body, a.key)
		to := time.Now()
		require.Equal(t, status, res.StatusCode, "%s", out)
		var m map[string]any
		require.NoError(t, json.Unmarshal(out, &m))
		return m, res.Header.Get("X-Request-Id"), from, to
	}
	frames := planarFrames(t, fixture(t, "biden.jpg"), attackPoses[:8])

	// A ZIP capture: the digest is of the container as sent.
	sid := a.session(a.key, `{}`)["id"].(string)
	p := a.initLiveness(a.key, sid, `{"type":"MEDIUM","nbChallenge":1}`, 200)
	_, zip := captureOf(t, sid, p, frames)
	want := []map[string]any{{"role": "capture", "id": sid + "/" + p["serverRandom"].(string), "captureSha256": sha(zip)}}
	m, id, from, to := call("POST", "/v2/bio-sessions/"+sid+"/liveness-capture", "application/zip", zip, 200)
	bound(t, a.signedPayload(m), "acme", id, from, to, want)
	assert.Equal(t, sha(zip), m["captureSha256"])
	m, id, from, to = call("GET", "/v2/bio-sessions/"+sid+"/liveness-challenge-result/LIVENESS_MEDIUM", "", nil, 200)
	bound(t, a.signedPayload(m), "acme", id, from, to, want)
	m, id, from, to = call("GET", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata", "", nil, 200)
	bound(t, a.signedPayload(m), "acme", id, from, to, want)

	// A sealed replay: the digest is of the decrypted container.
	sid = a.session(a.key, `{}`)["id"].(string)
	p = a.initLiveness(a.key, sid, `{"type":"MEDIUM","nbChallenge":1}`, 200)
	_, zip = captureOf(t, sid, p, frames)
	meta, secret, err := capture.Seal(publicKeyOf(t, p), sid, p["serverRandom"].(string), zip)
	require.NoError(t, err)
	ct, body := multipartBody(t, "form-data", part{"encryptedMetaData", "application/octet-stream", meta},
		part{"encryptedMasterSecret", "application/octet-stream", secret})
	want = []map[string]any{{"role": "capture", "id": sid + "/" + p["serverRandom"].(string), "captureSha256": sha(zip)}}
	m, id, from, to = call("POST", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata", ct, body, 201)
	bound(t, a.signedPayload(m), "acme", id, from, to, want)
}

// TestTemplateDigestIsOfDecodedBytes: the template digest an integrator
// computes from the base64 it holds is the one the service binds.
func TestTemplateDigestIsOfDecodedBytes(t *testing.T) {
	bio, err := biometrictest.Service()
	require.NoError(t, err)
	an, err := bio.Analyze(fakeFixture(t, "obama.jpg"), biometric.Options{})
	require.NoError(t, err)
	raw, err := base64.StdEncoding.DecodeString(an.Template.Base64())
	require.NoError(t, err)
	assert.Equal(t, sha(raw), an.Template.Digest())
	again, err := template.ParseBase64(base64.RawURLEncoding.EncodeToString(raw), an.Template.Encoder)
	require.NoError(t, err)
	assert.Equal(t, sha(raw), again.Digest())
}
