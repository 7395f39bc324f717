package modelset

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmbeddedManifest(t *testing.T) {
	m, err := Embedded()
	require.NoError(t, err)
	for _, name := range []string{"onnxruntime", "detector", "landmarks", "embedding", "eyes", "pose"} {
		f, err := m.Lookup(name)
		require.NoError(t, err, name)
		assert.NotEmpty(t, f.Package)
		assert.NotEmpty(t, f.Version)
		if f.Kind == "model" {
			assert.NotEmpty(t, f.Inputs, name)
			assert.NotEmpty(t, f.Outputs, name)
		}
	}
}

func TestReadRefusesChangedFile(t *testing.T) {
	dir := t.TempDir()
	good := []byte("model bytes")
	sum := sha256.Sum256(good)
	m := &Manifest{Version: 1, Files: []File{{Name: "m", File: "m.onnx", SHA256: hex.EncodeToString(sum[:]), Package: "p", Version: "1"}}}

	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.onnx"), good, 0o600))
	b, _, err := m.Read(dir, "m")
	require.NoError(t, err)
	assert.Equal(t, good, b)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "m.onnx"), []byte("tampered"), 0o600))
	_, _, err = m.Read(dir, "m")
	require.ErrorIs(t, err, ErrHashMismatch)
	assert.Contains(t, err.Error(), hex.EncodeToString(sum[:]))

	_, _, err = m.Read(t.TempDir(), "m")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make layers")

	_, err = Parse([]byte(`{"manifest_version":2,"files":[]}`))
	require.Error(t, err)
}
