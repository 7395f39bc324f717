package fault_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// TestCodesListsEveryConstant: Codes (which the transport's status-table
// test walks) holds every Code constant of codes.go, once.
func TestCodesListsEveryConstant(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	require.NoError(t, err)
	var consts []string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Values) == 1 {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				consts = append(consts, v)
			}
		}
		return true
	})
	require.NotEmpty(t, consts)
	assert.ElementsMatch(t, consts, fault.Codes)
}

func TestError(t *testing.T) {
	cause := errors.New("dynamodb: throttled")
	e := fault.Internal("", cause)
	assert.Equal(t, "internal error", e.Error())
	assert.ErrorIs(t, e, cause)
	assert.Same(t, e, fault.As(errors.Join(errors.New("x"), e)))
	assert.Nil(t, fault.As(cause))

	f := fault.OnField(fault.CodeFieldTooLong, "name", "%s is longer than %d bytes", "name", 64)
	assert.Equal(t, fault.Error{Code: fault.CodeFieldTooLong, Field: "name", Message: "name is longer than 64 bytes"}, *f)
	assert.Equal(t, fault.CodeInvalidRequest, fault.Invalid("x").Code)
}
