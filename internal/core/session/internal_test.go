package session

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/core/template/templatetest"
	"github.com/facelambda/facelambda/internal/testkit"
)

// TestImageContentType checks the sniffing of stored images answers as
// http.DetectContentType did before the service left net/http.
func TestImageContentType(t *testing.T) {
	inputs := map[string][]byte{
		"jpeg": []byte("\xFF\xD8\xFF\xE0rest"), "png": []byte("\x89PNG\x0D\x0A\x1A\x0Arest"),
		"gif87": []byte("GIF87a..."), "gif89": []byte("GIF89a..."), "webp": []byte("RIFF\x00\x00\x00\x00WEBPVP8 rest"),
		"riff not webp": []byte("RIFF\x00\x00\x00\x00WAVEfmt "), "short riff": []byte("RIFF\x00\x00"),
		"binary": {0, 1, 2, 3, 0xFE}, "empty": {},
	}
	for _, dir := range []string{testkit.Testdata(t, "faces"), testkit.Testdata(t, "images")} {
		entries, _ := os.ReadDir(dir)
		for i, e := range entries {
			if i >= 5 || e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			inputs[e.Name()] = b
		}
	}
	for name, b := range inputs {
		t.Run(name, func(t *testing.T) {
			want := http.DetectContentType(b)
			if want != "image/jpeg" && want != "image/png" && want != "image/gif" && want != "image/webp" {
				want = "application/octet-stream" // only decoded images are stored
			}
			assert.Equal(t, want, imageContentType(b))
		})
	}
}

func TestFetchUpload(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	svc := &Service{Records: st, Blobs: st, MaxImageBytes: 16}
	ctx := context.Background()
	put := func(key string, n int) {
		require.NoError(t, st.Put(ctx, key, make([]byte, n), "image/jpeg"))
	}
	put("uploads/acme/small", 10)
	put("uploads/acme/large", 17)
	put("uploads/other/theirs", 10)
	tests := []struct {
		name, key, code string
	}{
		{name: "first use", key: "uploads/acme/small"},
		{name: "second use", key: "uploads/acme/small", code: fault.CodeUploadUsed},
		{name: "another tenant's", key: "uploads/other/theirs", code: fault.CodeNotFound},
		{name: "not an upload key", key: "sessions/acme/x", code: fault.CodeNotFound},
		{name: "bad key", key: "uploads/acme/../x", code: fault.CodeNotFound},
		{name: "too large", key: "uploads/acme/large", code: fault.CodeImageTooLarge},
		{name: "never uploaded", key: "uploads/acme/none", code: fault.CodeNotFound},
	}
	for _, tc := range tests { // in order: the second use follows the first
		b, err := svc.fetchUpload(ctx, "acme", tc.key)
		if tc.code == "" {
			require.NoError(t, err, tc.name)
			assert.Len(t, b, 10, tc.name)
			continue
		}
		var be *fault.Error
		require.True(t, errors.As(err, &be), "%s: %v", tc.name, err)
		assert.Equal(t, tc.code, be.Code, tc.name)
	}
	_, _, err = st.Get(ctx, "uploads/acme/small")
	assert.Error(t, err, "a consumed upload is deleted")
}

// TestCheckSignature checks a face JSON's signature binds its template,
// image type and quality to the service's keys.
func TestCheckSignature(t *testing.T) {
	signer, err := signing.LoadOrCreateLocal(filepath.Join(t.TempDir(), "key.pem"))
	require.NoError(t, err)
	other, err := signing.LoadOrCreateLocal(filepath.Join(t.TempDir(), "other.pem"))
	require.NoError(t, err)
	forged := templatetest.Vectors(512)
	tplA := templatetest.Encode("test-encoder", forged[0].Vector)
	tplB := templatetest.Encode("test-encoder", forged[1].Vector)
	sign := func(s *signing.Signer, tpl, imageType string, quality int) string {
		sig, err := s.SignResource(map[string]any{"template": tpl, "imageType": imageType, "quality": quality})
		require.NoError(t, err)
		return sig
	}
	svc := &Service{Keys: signing.JWKSOf(signer)}
	tests := []struct {
		name string
		sig  string
		ok   bool
	}{
		{name: "no signature", sig: "", ok: true},
		{name: "the face's signature", sig: sign(signer, tplA, "SELFIE", 80), ok: true},
		{name: "another key", sig: sign(other, tplA, "SELFIE", 80)},
		{name: "another template", sig: sign(signer, tplB, "SELFIE", 80)},
		{name: "another image type", sig: sign(signer, tplA, "ID_DOCUMENT", 80)},
		{name: "another quality", sig: sign(signer, tplA, "SELFIE", 81)},
		{name: "not a JWS", sig: "abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := &Reference{Template: tplA, ImageType: "SELFIE", Quality: 80, Signature: tc.sig}
			tpl, err := template.ParseBase64(tplA, "")
			require.NoError(t, err)
			err = svc.checkSignature("reference.signature", ref, tpl)
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			var be *fault.Error
			require.True(t, errors.As(err, &be))
			assert.Equal(t, fault.CodeInvalidSignature, be.Code)
			assert.Contains(t, be.Message, "reference.signature: ")
		})
	}
}
