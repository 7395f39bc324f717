package httpapi

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/testkit"
)

// TestBuiltStatusesMatchTable: the status an error is still built with
// (errorf's argument, an Error literal's Status) in this package or in
// core is its code's row of the table, so answering from the table changes
// no response. It reads the source, until the shims (errorf's status,
// fault.Error.Status) are gone.
func TestBuiltStatusesMatchTable(t *testing.T) {
	httpStatus := constsOf(t, filepath.Join(build.Default.GOROOT, "src/net/http/status.go"))
	faultCodes := constsOf(t, testkit.Path(t, "internal", "core", "fault", "codes.go"))
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	require.NoError(t, filepath.WalkDir(testkit.Path(t, "internal", "core"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			files = append(files, path)
		}
		return err
	}))
	var parsed []*ast.File
	local := map[string]string{} // this package's Code constants
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		parsed = append(parsed, f)
		for n, v := range constExprs(f) {
			local[n] = v
		}
	}
	code := func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		case *ast.Ident:
			v, ok := local[x.Name]
			if sel, isSel := strings.CutPrefix(v, "fault."); isSel {
				v, ok = faultCodes[sel]
			}
			return v, ok
		case *ast.SelectorExpr:
			v, ok := faultCodes[x.Sel.Name] // biometric, enroll and auth codes alias fault's of the same name
			return v, ok
		}
		return "", false
	}
	status := func(e ast.Expr) (int, bool) {
		switch x := e.(type) {
		case *ast.BasicLit:
			n, err := strconv.Atoi(x.Value)
			return n, err == nil
		case *ast.SelectorExpr:
			v, ok := httpStatus[x.Sel.Name]
			n, err := strconv.Atoi(v)
			return n, ok && err == nil
		}
		return 0, false
	}
	check := func(pos token.Pos, s, c ast.Expr) {
		where := fset.Position(pos).String()
		st, ok1 := status(s)
		cd, ok2 := code(c)
		if !assert.True(t, ok1 && ok2, "%s: cannot read the status or code", where) {
			return
		}
		want, ok := statuses[cd]
		if assert.True(t, ok, "%s: code %s is not in the table", where, cd) {
			assert.Equal(t, want, st, "%s: %s built with %d, table says %d", where, cd, st, want)
		}
	}
	n := 0
	for _, f := range parsed {
		ast.Inspect(f, func(node ast.Node) bool {
			switch x := node.(type) {
			case *ast.CallExpr:
				if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "errorf" && len(x.Args) == 3 {
					check(x.Pos(), x.Args[0], x.Args[1])
					n++
				}
			case *ast.CompositeLit:
				var s, c ast.Expr
				for _, el := range x.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						switch k, _ := kv.Key.(*ast.Ident); {
						case k == nil:
						case k.Name == "Status":
							s = kv.Value
						case k.Name == "Code":
							c = kv.Value
						}
					}
				}
				if _, variable := s.(*ast.Ident); s != nil && c != nil && !variable { // errorf's own literal
					check(x.Pos(), s, c)
					n++
				}
			}
			return true
		})
	}
	t.Logf("%d errors built with a status", n)
}

// constsOf returns the constants of a Go file whose value is a literal.
func constsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	require.NoError(t, err)
	m := constExprs(f)
	require.NotEmpty(t, m, path)
	return m
}

// constExprs maps the single-valued constants of f to their literal value
// (unquoted) or, for a selector, "pkg.Name".
func constExprs(f *ast.File) map[string]string {
	m := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if len(vs.Names) != 1 || len(vs.Values) != 1 {
				continue
			}
			switch v := vs.Values[0].(type) {
			case *ast.BasicLit:
				s := v.Value
				if u, err := strconv.Unquote(s); err == nil {
					s = u
				}
				m[vs.Names[0].Name] = s
			case *ast.SelectorExpr:
				if x, ok := v.X.(*ast.Ident); ok {
					m[vs.Names[0].Name] = x.Name + "." + v.Sel.Name
				}
			}
		}
	}
	return m
}
