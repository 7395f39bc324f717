package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/capture"
)

func TestCaptureCommand(t *testing.T) {
	dir := t.TempDir()
	frames := filepath.Join(dir, "frames")
	require.NoError(t, os.Mkdir(frames, 0o755))
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3}
	for _, n := range []string{"b.jpg", "a.jpg", "c.jpeg", "notes.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(frames, n), append(bytes.Clone(jpeg), n[0]), 0o644))
	}
	key, err := capture.NewSessionKey()
	require.NoError(t, err)
	payload, _ := json.Marshal(map[string]string{"sessionId": "sess-1", "serverRandom": "R1"})
	cert := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
	params, _ := json.Marshal(map[string]any{"serverRandom": "R1", "publicKey": capture.PublicJWK(&key.PublicKey), "certificate": []string{cert}})
	pp := filepath.Join(dir, "params.json")
	require.NoError(t, os.WriteFile(pp, params, 0o644))

	var out, errOut bytes.Buffer
	zipPath := filepath.Join(dir, "capture.zip")
	require.Equal(t, 0, Run(t.Context(), []string{"capture", "--params", pp, "--frames", frames, "--fps", "20", "--out", zipPath}, &out, &errOut), errOut.String())
	raw, err := os.ReadFile(zipPath)
	require.NoError(t, err)
	c, err := capture.Parse(raw, capture.DefaultLimits())
	require.NoError(t, err)
	assert.Equal(t, "sess-1", c.Manifest.SessionID, "the session comes from the certificate")
	require.Len(t, c.Frames, 3, "the .txt is skipped")
	assert.Equal(t, byte('a'), c.Frames[0].Data[len(jpeg)], "frames in name order")
	assert.EqualValues(t, 100, c.Frames[2].Time.Milliseconds(), "20 fps")

	sealed := filepath.Join(dir, "meta.bin")
	require.Equal(t, 0, Run(t.Context(), []string{"capture", "--params", pp, "--frames", frames, "--out", sealed, "--seal"}, &out, &errOut), errOut.String())
	meta, err := os.ReadFile(sealed)
	require.NoError(t, err)
	secret, err := os.ReadFile(sealed + ".secret")
	require.NoError(t, err)
	opened, err := capture.Open(key, "sess-1", "R1", meta, secret)
	require.NoError(t, err, "the server opens what the tool sealed")
	_, err = capture.Parse(opened, capture.DefaultLimits())
	require.NoError(t, err)

	assert.Equal(t, 1, Run(t.Context(), []string{"capture", "--params", pp, "--frames", t.TempDir(), "--out", zipPath}, &out, &errOut), "no frames")
	assert.Equal(t, 1, Run(t.Context(), []string{"capture", "--params", zipPath, "--frames", frames, "--out", zipPath}, &out, &errOut), "not parameters")
}
