package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store/ident"
)

func TestCheckRead(t *testing.T) {
	require.NoError(t, CheckRead("get x", "tenant", "t", "id", "a"))
	for _, kv := range [][]string{{"tenant", ""}, {"tenant", "t", "id", "a#b"}} {
		err := CheckRead("get x", kv...)
		assert.ErrorIs(t, err, ErrNotFound, kv)
		assert.ErrorIs(t, err, ident.ErrInvalid, kv)
		assert.ErrorContains(t, err, "get x: ", kv)
	}
}

func TestCheckClassRead(t *testing.T) {
	require.NoError(t, CheckClassRead("get class", "t", 1))
	for _, tc := range []struct {
		tenant string
		id     uint64
	}{{"", 1}, {"a/b", 1}, {"t", 0}} {
		err := CheckClassRead("get class", tc.tenant, tc.id)
		assert.ErrorIs(t, err, ErrNotFound, tc)
		assert.ErrorIs(t, err, ident.ErrInvalid, tc)
	}
}
