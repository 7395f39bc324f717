package inference

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/modelset"
)

func entry(name, file string, content []byte) modelset.File {
	sum := sha256.Sum256(content)
	return modelset.File{Name: name, Kind: "library", File: file, SHA256: hex.EncodeToString(sum[:]), Package: "p", Version: "1"}
}

func TestVerifyLibrary(t *testing.T) {
	cpu, gpu := []byte("cpu build"), []byte("gpu build")
	dir := t.TempDir()
	write := func(b []byte) string {
		p := filepath.Join(dir, "libonnxruntime.so.1")
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	cpuOnly := &modelset.Manifest{Version: 1, Files: []modelset.File{entry(LibraryCPU, "libonnxruntime.so.1", cpu)}}
	both := &modelset.Manifest{Version: 1, Files: append(cpuOnly.Files, entry(LibraryGPU, "libonnxruntime.so.1", gpu))}
	for _, tc := range []struct {
		name     string
		man      *modelset.Manifest
		content  []byte
		want     string
		mismatch bool
	}{
		{"cpu build, cpu manifest", cpuOnly, cpu, LibraryCPU, false},
		{"gpu build, no gpu entry", cpuOnly, gpu, "", true},
		{"gpu build, gpu entry", both, gpu, LibraryGPU, false},
		{"cpu build, both entries", both, cpu, LibraryCPU, false},
		{"unpinned build, both entries", both, []byte("other"), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := verifyLibrary(tc.man, write(tc.content))
			if tc.mismatch {
				require.ErrorIs(t, err, modelset.ErrHashMismatch)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCheckPlugins(t *testing.T) {
	shared, cuda := []byte("shared plug-in"), []byte("cuda plug-in")
	pinned := &modelset.Manifest{Version: 1, Files: []modelset.File{
		entry("onnxruntime-providers-shared", "libonnxruntime_providers_shared.so", shared),
		entry("onnxruntime-providers-cuda", "libonnxruntime_providers_cuda.so", cuda),
	}}
	unpinned := &modelset.Manifest{Version: 1}
	for _, tc := range []struct {
		name    string
		man     *modelset.Manifest
		files   map[string][]byte
		wantErr string
	}{
		{"no plug-ins, no entries", unpinned, nil, ""},
		{"pinned plug-ins", pinned, map[string][]byte{"libonnxruntime_providers_shared.so": shared, "libonnxruntime_providers_cuda.so": cuda}, ""},
		{"plug-in without entry", unpinned, map[string][]byte{"libonnxruntime_providers_shared.so": shared}, `no entry "onnxruntime-providers-shared"`},
		{"changed plug-in", pinned, map[string][]byte{"libonnxruntime_providers_shared.so": shared, "libonnxruntime_providers_cuda.so": []byte("x")}, "refusing to load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, b := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
			}
			err := checkPlugins(tc.man, dir)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
