// Package enginetest gives real-model tests the engine configuration of
// the environment, skipping them when the layers are absent.
package enginetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/ml/engine"
)

// Config is the engine configuration of the environment's models settings
// (config.Load); a bad setting fails the test, and the test is skipped,
// saying so, when the models or ONNX Runtime are absent.
func Config(t testing.TB) engine.Config {
	t.Helper()
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	ec := engine.FromSettings(c.Models)
	for _, p := range []string{filepath.Join(ec.ModelDir, "fr_feature.onnx"), ec.LibraryPath} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("needs the models and ONNX Runtime (run `make layers`): %v", err)
		}
	}
	return ec
}

// Open is engine.Open of Config.
func Open(t testing.TB) *engine.Engine {
	t.Helper()
	eng, err := engine.Open(Config(t))
	if err != nil {
		t.Fatal(err)
	}
	return eng
}
