package httpapi_test

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

func TestHeavyLiveness(t *testing.T) {
	mp, mpBody := multipartBody(t, "form-data", part{"image", "image/jpeg", []byte{0xFF, 0xD8}}, part{"threshold", "text/plain", []byte("highest")})
	mpLow, mpLowBody := multipartBody(t, "form-data", part{"image", "image/jpeg", []byte{0xFF, 0xD8}}, part{"threshold", "text/plain", []byte("HIGH")})
	big := bytes.Repeat([]byte{1}, httpapi.HeavyCaptureBytes)
	tests := []struct {
		name, method, path, ct string
		body                   []byte
		heavy                  bool
	}{
		{"passive HIGHEST json", "POST", "/v2/liveness", "application/json", []byte(`{"image":"x","threshold":"HIGHEST"}`), true},
		{"passive HIGHEST json array", "POST", "/v2/liveness", "application/json", []byte(`[{"image":"x","threshold":"HIGHEST"}]`), true},
		{"passive default", "POST", "/v2/liveness", "application/json", []byte(`{"image":"x"}`), false},
		{"passive HIGHEST multipart", "POST", "/v2/liveness", mp, mpBody, true},
		{"passive HIGH multipart", "POST", "/v2/liveness", mpLow, mpLowBody, false},
		{"passive bad json", "POST", "/v2/liveness", "application/json", []byte(`{`), false},
		{"large capture", "POST", "/v2/bio-sessions/s/liveness-capture", "application/zip", big, true},
		{"small capture", "POST", "/v2/bio-sessions/s/liveness-capture", "application/zip", big[:1000], false},
		{"large replay", "POST", "/v2/bio-sessions/s/replay-liveness-metadata", "multipart/form-data; boundary=x", big, true},
		{"parameters", "POST", "/v2/bio-sessions/s/init-liveness-parameters", "application/json", big, false},
		{"GET", "GET", "/v2/bio-sessions/s/liveness-capture", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, bytes.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ct)
			assert.Equal(t, tc.heavy, httpapi.HeavyLiveness(r, tc.body))
		})
	}
}
