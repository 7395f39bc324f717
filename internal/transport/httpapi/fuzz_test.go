package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/core/webhook"
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
			checkRequestError(t, err)
			return
		}
		seen := map[string]bool{}
		for _, n := range form.names {
			if seen[n] {
				t.Fatalf("field %q accepted twice", n)
			}
			seen[n] = true
		}
		for name, b := range form.files {
			if len(b) > MaxBody {
				t.Fatalf("part %s has %d bytes", name, len(b))
			}
			if !seen[name] {
				t.Fatalf("part %s not listed", name)
			}
		}
		for name, v := range form.fields {
			if _, isJSON := form.json[name]; !isJSON && checkText(name, v) != nil {
				t.Fatalf("field %s over its limit accepted", name)
			}
		}
		var spec FaceSpec
		if _, err := form.object("face", &spec); err != nil {
			checkRequestError(t, err)
		} else if checkStrings("face", &spec) != nil {
			t.Fatalf("face part over a limit accepted")
		}
		if _, err := readReference(form); err != nil {
			checkRequestError(t, err)
		}
	})
}

// checkRequestError fails unless err is a 4xx of the service with a short
// message.
func checkRequestError(t *testing.T, err error) {
	t.Helper()
	var be *fault.Error
	if !errors.As(err, &be) || StatusOf(be) < 400 || StatusOf(be) >= 500 || be.Code == "" {
		t.Fatalf("not a 4xx error object: %#v", err)
	}
	if len(be.Message) > 2048 {
		t.Fatalf("message of %d bytes echoes the input", len(be.Message))
	}
}

// FuzzJSONRequests feeds arbitrary bodies to the JSON request parsers of
// every endpoint that takes one: each answers a decoded request or a 4xx
// error object, never panics; objectKeys agrees with encoding/json on the
// members of an object it accepts.
func FuzzJSONRequests(f *testing.F) {
	f.Add([]byte(`{"ttlSeconds":60,"correlationId":"c","callbackURL":"https://example.com/x"}`))
	f.Add([]byte(`[{"ttl":60}]`))
	f.Add([]byte(`{"a":1,"A":2}`))
	f.Add([]byte(`{"image":"AAAA","level":"HIGH","minScore":3000}`))
	f.Add([]byte(`[{"image":"AAAA"},{"image":"data:image/jpeg;base64,AAAA","x":1}]`))
	f.Add([]byte(`{"url":"https://example.com","events":["face.created"],"authHeaderKey":"k"}`))
	f.Add([]byte(`{"type":"HIGH","purpose":"x","nbChallenge":3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{&sessionRequest{}, &identifyRequest{}, &verifyRequest{}, &liveness.ParametersRequest{},
			&webhook.CreateInput{}, &webhook.UpdateInput{}, &struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			}{}}
		for _, v := range targets {
			r := httptest.NewRequest(http.MethodPost, "/v2/x", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			if err := readJSON(httptest.NewRecorder(), r, 64<<10, v); err != nil {
				checkRequestError(t, err)
			} else if err := checkStrings("", v); err != nil {
				t.Fatalf("accepted a field over its limit: %v", err)
			}
		}
		if req, ok := targets[1].(*identifyRequest); ok {
			if _, err := cutOff(*req); err != nil {
				checkRequestError(t, err)
			}
		}
		var items []imageItem
		ar := httptest.NewRequest(http.MethodPost, "/v2/enroll/1", bytes.NewReader(body))
		ar.Header.Set("Content-Type", "application/json")
		if err := readJSONArray(httptest.NewRecorder(), ar, 1<<20, &items); err != nil {
			checkRequestError(t, err)
		}
		keys, err := objectKeys(body, "", false)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("objectKeys accepted what encoding/json refuses: %v", err)
		}
		if len(m) != len(keys) {
			t.Fatalf("objectKeys found %d members, encoding/json %d", len(keys), len(m))
		}
	})
}

// FuzzLivenessInputs feeds arbitrary input to the request parsers of
// liveness: parameter requests and the hand-off predicate. None may panic
// (core/liveness fuzzes upload keys, security levels and parameters).
func FuzzLivenessInputs(f *testing.F) {
	f.Add("liveness-uploads/t/s/r.zip", "VERY_HIGH2", []byte(`{"type":"HIGH","timeout":30000,"nbChallenge":3}`))
	f.Add("liveness-uploads//s/.zip", "highest", []byte(`[{"nbChallenge":-1}]`))
	f.Add("liveness-uploads/a/b/c/d.zip", "", []byte(`{"threshold":"HIGHEST"}`))
	f.Fuzz(func(t *testing.T, _, _ string, body []byte) {
		var req liveness.ParametersRequest
		r := httptest.NewRequest(http.MethodPost, "/v2/bio-sessions/s/init-liveness-parameters", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		_ = readJSON(httptest.NewRecorder(), r, 64<<10, &req)
		for _, ct := range []string{"application/json", "multipart/form-data; boundary=b"} {
			h := httptest.NewRequest(http.MethodPost, "/v2/liveness", bytes.NewReader(body))
			h.Header.Set("Content-Type", ct)
			_ = HeavyLiveness(h, body)
		}
	})
}
