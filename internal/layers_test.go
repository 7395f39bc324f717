package internal_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/facelambda/facelambda/"

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
	CgoFiles   []string
}

// list runs `go list -json` over patterns (from the repository root).
func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not on PATH")
	}
	cmd := exec.Command("go", append([]string{"list", "-json"}, patterns...)...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	require.NoError(t, err, "go list %v", patterns)
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// layer names the layer of an import path of this module ("" outside it).
func layer(path string) string {
	rel, ok := strings.CutPrefix(path, module)
	if !ok {
		return ""
	}
	parts := strings.Split(rel, "/")
	if parts[0] != "internal" || len(parts) < 2 {
		return parts[0] // functions, cmd
	}
	return parts[1]
}

// forbidden lists, per layer, the layers its packages must not import,
// and the outside packages they must not import.
var forbidden = map[string]struct {
	layers   []string
	packages []string
}{
	"config":    {layers: []string{"app", "core", "ml", "adapters", "transport", "tools"}},
	"core":      {layers: []string{"app", "adapters", "transport", "tools"}},
	"ml":        {layers: []string{"app", "core", "adapters", "transport", "tools"}, packages: []string{"net/http", "github.com/aws/"}},
	"adapters":  {layers: []string{"app", "transport", "tools"}},
	"transport": {layers: []string{"app", "adapters", "tools"}},
	"app":       {layers: []string{"tools"}},
	"functions": {layers: []string{"tools"}},
	"web":       {layers: []string{"config", "app", "core", "ml", "adapters", "transport", "tools"}},
}

func TestImportRules(t *testing.T) {
	for _, p := range list(t, "./...") {
		rules, ok := forbidden[layer(p.ImportPath)]
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			for _, l := range rules.layers {
				if strings.HasPrefix(imp, module) && layer(imp) == l {
					assert.Failf(t, "layer rule broken", "%s imports %s (layer %s)", p.ImportPath, imp, l)
				}
			}
			for _, prefix := range rules.packages {
				if strings.HasPrefix(imp, prefix) {
					assert.Failf(t, "layer rule broken", "%s imports %s", p.ImportPath, imp)
				}
			}
		}
	}
}

// TestLambdasLinkNoTools: no Lambda binary links the CLI or evaluation code.
func TestLambdasLinkNoTools(t *testing.T) {
	pkgs := list(t, "./functions/...")
	require.NotEmpty(t, pkgs)
	for _, p := range pkgs {
		for _, d := range p.Deps {
			assert.NotEqual(t, "tools", layer(d), "%s links %s", p.ImportPath, d)
		}
	}
}

// TestLambdasCannotFixChallenges: the test-only fixed challenge list
// (liveness.Active.DrawChallenges, set by `facelambda serve
// --test-fixed-challenges`) is named, in the code a Lambda links, only by
// the package declaring it: no Lambda can set it.
func TestLambdasCannotFixChallenges(t *testing.T) {
	const field, owner = "DrawChallenges", module + "internal/core/liveness"
	linked := map[string]bool{}
	for _, p := range list(t, "./functions/...") {
		linked[p.ImportPath] = true
		for _, d := range p.Deps {
			linked[d] = true
		}
	}
	require.True(t, linked[owner], "the Lambdas link %s", owner)
	var named []string
	for _, p := range list(t, "./...") {
		if !linked[p.ImportPath] {
			continue
		}
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			require.NoError(t, err)
			if strings.Contains(string(b), field) {
				named = append(named, p.ImportPath)
				break
			}
		}
	}
	assert.Equal(t, []string{owner}, named, "packages linked into a Lambda naming %s", field)
}

// TestCgoConfined: only the decoder and the ONNX Runtime wrapper use cgo.
func TestCgoConfined(t *testing.T) {
	allowed := map[string]bool{module + "internal/ml/decode": true, module + "internal/ml/inference": true}
	for _, p := range list(t, "./...") {
		if len(p.CgoFiles) > 0 {
			assert.True(t, allowed[p.ImportPath], "%s uses cgo", p.ImportPath)
		}
	}
}
