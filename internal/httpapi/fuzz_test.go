package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzReadForm feeds arbitrary bodies under each accepted content type to
// the request parser: it must answer with an error or a form, never panic,
// and never return an image part over the limit.
func FuzzReadForm(f *testing.F) {
	f.Add("application/json", []byte(`{"image":"aGVsbG8=","imageType":"SELFIE","face":{"a":1}}`))
	f.Add("multipart/form-data; boundary=b", []byte("--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nxx\r\n--b--\r\n"))
	f.Add("multipart/mixed; boundary=b", []byte("--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--\r\n"))
	f.Add("text/plain", []byte("x"))
	f.Add("application/json", []byte(`[{"image":"aGVsbG8="},{"image":"data:image/jpeg;base64,AAAA"}]`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v2/faces", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		var sess sessionRequest
		jr := httptest.NewRequest(http.MethodPost, "/v2/bio-sessions", bytes.NewReader(body))
		jr.Header.Set("Content-Type", "application/json")
		_ = readJSON(httptest.NewRecorder(), jr, 64<<10, &sess)
		var items []imageItem
		ar := httptest.NewRequest(http.MethodPost, "/v2/enroll/1", bytes.NewReader(body))
		ar.Header.Set("Content-Type", "application/json")
		if readJSONArray(httptest.NewRecorder(), ar, 1<<20, &items) == nil {
			for _, it := range items {
				_, _ = decodeBase64(it.Image)
			}
		}
		form, err := readForm(httptest.NewRecorder(), req, "image", "candidateImage")
		if err != nil {
			return
		}
		for name, b := range form.files {
			if len(b) > MaxBody {
				t.Fatalf("part %s has %d bytes", name, len(b))
			}
		}
	})
}

// FuzzLivenessInputs feeds arbitrary input to the small parsers of active
// liveness: upload keys (from S3 events), security levels, parameter
// requests and the hand-off predicate. None may panic; a parsed upload key
// rebuilds the same key.
func FuzzLivenessInputs(f *testing.F) {
	f.Add("liveness-uploads/t/s/r.zip", "VERY_HIGH2", []byte(`{"type":"HIGH","timeout":30000,"nbChallenge":3}`))
	f.Add("liveness-uploads//s/.zip", "highest", []byte(`[{"nbChallenge":-1}]`))
	f.Add("liveness-uploads/a/b/c/d.zip", "", []byte(`{"threshold":"HIGHEST"}`))
	d := &Deps{Active: &ActiveLiveness{}}
	d.defaults()
	f.Fuzz(func(t *testing.T, key, level string, body []byte) {
		if tn, s, sr, ok := parseUploadKey(key); ok && LivenessUploadKey(tn, s, sr) != key {
			t.Fatalf("upload key %q parsed to %q %q %q", key, tn, s, sr)
		}
		_, _ = ParseSecurityLevel(level)
		var req livenessParamsRequest
		r := httptest.NewRequest(http.MethodPost, "/v2/bio-sessions/s/init-liveness-parameters", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if readJSON(httptest.NewRecorder(), r, 64<<10, &req) == nil {
			if p, err := d.newParameters(req); err == nil && len(p.Challenges) != p.NbChallenge {
				t.Fatalf("%d challenges for nbChallenge %d", len(p.Challenges), p.NbChallenge)
			}
		}
		for _, ct := range []string{"application/json", "multipart/form-data; boundary=b"} {
			h := httptest.NewRequest(http.MethodPost, "/v2/liveness", bytes.NewReader(body))
			h.Header.Set("Content-Type", ct)
			_ = HeavyLiveness(h, body)
		}
	})
}
