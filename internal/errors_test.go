package internal_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// faultBuilders are the constructors of package fault whose first argument
// is a code.
var faultBuilders = map[string]bool{"New": true, "Newf": true, "Wrap": true, "OnField": true}

// errorSources are the files that build errors: every non-test file of
// the module's internal packages but the vocabulary itself.
func errorSources(t *testing.T) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (path == filepath.Join("core", "fault") || d.Name() == "testdata"):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go"):
			files = append(files, path)
		}
		return nil
	}))
	require.NotEmpty(t, files)
	return files
}

// TestErrorCodesFromFault: one error vocabulary. Outside core/fault no
// source spells a stable code (a literal, a constant of its own or an
// alias of fault's), and every error built with package fault takes its
// code from a fault constant (or passes on a variable); its status is the
// transport's table's (fault.Error has none).
func TestErrorCodesFromFault(t *testing.T) {
	codes := map[string]bool{}
	for _, c := range fault.Codes {
		codes[c] = true
	}
	fromFault := func(e ast.Expr) bool {
		switch x := e.(type) {
		case *ast.Ident: // a variable passed on
			return true
		case *ast.SelectorExpr:
			pkg, ok := x.X.(*ast.Ident)
			return ok && pkg.Name == "fault" && strings.HasPrefix(x.Sel.Name, "Code")
		}
		return false
	}
	isFault := func(e ast.Expr, name string) bool {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		pkg, ok := sel.X.(*ast.Ident)
		return ok && pkg.Name == "fault" && (name == "" || sel.Sel.Name == name)
	}
	fset := token.NewFileSet()
	built := 0
	for _, path := range errorSources(t) {
		f, err := parser.ParseFile(fset, path, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BasicLit:
				if s, err := strconv.Unquote(x.Value); x.Kind == token.STRING && err == nil && codes[s] {
					assert.Failf(t, "code spelled outside core/fault", "%s: %q (use fault's constant)", fset.Position(x.Pos()), s)
				}
			case *ast.ValueSpec:
				for _, v := range x.Values {
					if isFault(v, "") && strings.HasPrefix(v.(*ast.SelectorExpr).Sel.Name, "Code") {
						assert.Failf(t, "alias of a fault code", "%s: %s (use fault's constant)", fset.Position(v.Pos()), x.Names[0].Name)
					}
				}
			case *ast.CallExpr:
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok && isFault(sel, "") && faultBuilders[sel.Sel.Name] {
					built++
					assert.True(t, fromFault(x.Args[0]), "%s: fault.%s's code is not a fault constant", fset.Position(x.Pos()), sel.Sel.Name)
				}
			case *ast.CompositeLit:
				if isFault(x.Type, "Error") {
					built++
					for _, el := range x.Elts {
						kv, ok := el.(*ast.KeyValueExpr)
						if !assert.True(t, ok, "%s: unkeyed fault.Error literal", fset.Position(x.Pos())) {
							continue
						}
						if k, _ := kv.Key.(*ast.Ident); k != nil && k.Name == "Code" {
							assert.True(t, fromFault(kv.Value), "%s: fault.Error's code is not a fault constant", fset.Position(kv.Pos()))
						}
					}
				}
			}
			return true
		})
	}
	t.Logf("%d errors built with package fault", built)
	assert.Greater(t, built, 50, "the scan finds the errors the service builds")
}
