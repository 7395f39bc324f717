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
