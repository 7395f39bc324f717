package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/testkit"
)

// The local server keeps no template or image bytes readable in its data
// folder: after session faces (with stored images, from an upload too), an
// unconsumed upload and an enrolment with thumbnails, no file holds the
// images' bytes, the templates' vector bytes, or their base64.
func TestLocalDataSealedAtRest(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the models")
	}
	ctx := t.Context()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	g, err := localGraph(ctx, dir, base)
	require.NoError(t, err)
	defer g.Close()
	st := g.Embedded
	key, _, err := auth.Create(ctx, st, "acme", "test", []string{auth.ScopeAll}, time.Now())
	require.NoError(t, err)
	srv := &http.Server{Handler: g.Local()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	call := func(method, path, ct string, body []byte, want int) map[string]any {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("apikey", key)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		require.Equal(t, want, res.StatusCode, "%s %s: %s", method, path, raw)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m), "%s", raw)
		return m
	}
	image := func(name string) []byte {
		b, err := os.ReadFile(testkit.Testdata(t, "faces", name))
		require.NoError(t, err)
		return b
	}
	upload := func(img []byte) string {
		up := call("POST", "/v2/uploads", "application/json", []byte(`{"contentType":"image/jpeg"}`), 201)
		req, err := http.NewRequestWithContext(ctx, "PUT", up["url"].(string), bytes.NewReader(img))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "image/jpeg")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, 200, res.StatusCode)
		return up["key"].(string)
	}

	obama, obama2, biden := image("obama.jpg"), image("obama2.jpg"), image("biden.jpg")
	sid := call("POST", "/v2/bio-sessions", "application/json", []byte(`{"imageStorageEnabled":true}`), 201)["id"].(string)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	pw, err := mw.CreateFormFile("image", "obama.jpg")
	require.NoError(t, err)
	_, _ = pw.Write(obama)
	require.NoError(t, mw.Close())
	faces := []map[string]any{call("POST", "/v2/bio-sessions/"+sid+"/faces", mw.FormDataContentType(), buf.Bytes(), 201)}
	body, _ := json.Marshal(map[string]string{"imageKey": upload(obama2)})
	faces = append(faces, call("POST", "/v2/bio-sessions/"+sid+"/faces", "application/json", body, 201))
	upload(biden) // never consumed
	enrol, _ := json.Marshal([]map[string]string{{"image": base64.StdEncoding.EncodeToString(biden)}})
	call("POST", "/v2/enroll/7", "application/json", enrol, 200)
	tpl := call("GET", "/v2/templates/7?thumbnails=true", "", nil, 200)
	thumbs := tpl["thumbnails"].([]any)
	require.NotEmpty(t, thumbs, "thumbnails are stored")

	secrets := map[string][]byte{
		"obama.jpg": obama[len(obama)/2 : len(obama)/2+48], "obama2.jpg": obama2[len(obama2)/2 : len(obama2)/2+48],
		"biden.jpg": biden[len(biden)/2 : len(biden)/2+48],
	}
	for i, th := range thumbs {
		img, err := base64.StdEncoding.DecodeString(th.(map[string]any)["image"].(string))
		require.NoError(t, err)
		secrets[fmt.Sprintf("thumbnail %d", i)] = img[len(img)/2 : len(img)/2+48]
	}
	for i, f := range faces {
		raw, err := base64.StdEncoding.DecodeString(f["template"].(string))
		require.NoError(t, err)
		vec := raw[len(raw)-256 : len(raw)-208] // vector bytes
		secrets[fmt.Sprintf("face %d template", i)] = vec
		secrets[fmt.Sprintf("face %d template base64", i)] = []byte(f["template"].(string)[8:72])
		secrets[fmt.Sprintf("face %d vector base64", i)] = []byte(base64.StdEncoding.EncodeToString(vec))
	}
	require.NoError(t, srv.Close())
	require.NoError(t, st.Close())
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for what, s := range secrets {
			assert.False(t, bytes.Contains(b, s), "%s readable in %s", what, p)
		}
		return nil
	}))
}
