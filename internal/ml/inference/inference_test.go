package inference_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/engine/enginetest"
	"github.com/facelambda/facelambda/internal/ml/inference"
	"github.com/facelambda/facelambda/internal/ml/modelset"
	"github.com/facelambda/facelambda/layers/models"
)

func open(t *testing.T) (*inference.Runtime, *modelset.Manifest, engine.Config) {
	t.Helper()
	cfg := enginetest.Config(t)
	man, err := modelset.Embedded()
	require.NoError(t, err)
	rt, err := inference.Open(inference.Options{LibraryPath: cfg.LibraryPath}, man)
	require.NoError(t, err, "run `make layers`")
	return rt, man, cfg
}

// TestManifestMatchesModels checks that the inputs and outputs the manifest
// declares are the ones each model file really has.
func TestManifestMatchesModels(t *testing.T) {
	_, man, cfg := open(t)
	for _, f := range man.Files {
		if f.Kind != "model" {
			continue
		}
		if _, err := os.Stat(filepath.Join(cfg.ModelDir, f.File)); err != nil && optional(f.Name) {
			t.Logf("%s: optional model not fetched (needs ../shared/models)", f.Name)
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			ins, outs, err := ort.GetInputOutputInfo(filepath.Join(cfg.ModelDir, f.File))
			require.NoError(t, err)
			require.Len(t, ins, len(f.Inputs))
			require.Len(t, outs, len(f.Outputs))
			for i, in := range ins {
				assert.Equal(t, f.Inputs[i].Name, in.Name)
				assert.Equal(t, f.Inputs[i].Shape, []int64(in.Dimensions))
			}
			for i, o := range outs {
				assert.Equal(t, f.Outputs[i].Name, o.Name)
				assert.Equal(t, f.Outputs[i].Shape, []int64(o.Dimensions))
			}
		})
	}
}

func TestRunAndInputChecks(t *testing.T) {
	rt, _, cfg := open(t)
	m, err := rt.Load(cfg.ModelDir, "eyes")
	require.NoError(t, err)
	out, err := m.Run(make([]float32, 24*24))
	require.NoError(t, err)
	require.Len(t, out, 1)
	assert.Len(t, out[0], 2)
	_, err = m.Run(make([]float32, 10))
	assert.ErrorIs(t, err, inference.ErrInputSize)
}

func TestRefusesTamperedModel(t *testing.T) {
	rt, _, cfg := open(t)
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(cfg.ModelDir, "fr_eye.onnx"))
	require.NoError(t, err)
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fr_eye.onnx"), b, 0o600))
	_, err = rt.Load(dir, "eyes")
	require.ErrorIs(t, err, modelset.ErrHashMismatch)
	assert.Contains(t, err.Error(), "refusing to load")
}

// optional reports a manifest entry marked "optional" (carried only where
// its source, which no registry ships, is available).
func optional(name string) bool {
	var m struct {
		Files []struct {
			Name     string `json:"name"`
			Optional bool   `json:"optional"`
		} `json:"files"`
	}
	if err := json.Unmarshal(models.Manifest, &m); err != nil {
		return false
	}
	for _, f := range m.Files {
		if f.Name == name {
			return f.Optional
		}
	}
	return false
}
