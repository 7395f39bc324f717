package ident

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckClassID(t *testing.T) {
	assert.ErrorIs(t, CheckClassID(0), ErrInvalid)
	assert.NoError(t, CheckClassID(1))
	assert.NoError(t, CheckClassID(^uint64(0)))
}

func TestClassSize(t *testing.T) {
	assert.Equal(t, 0, ClassSize("", nil))
	assert.Equal(t, 3+5+(2+1)+(1+1)+(4+1), ClassSize("enc", make([]byte, 5), []string{"ab", "c"}, []string{"d/e."}))
	assert.NoError(t, CheckClassSize(MaxClassSize))
	err := CheckClassSize(MaxClassSize + 1)
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.False(t, errors.Is(err, ErrInvalid))
}

func TestUniqueClassIDs(t *testing.T) {
	ids, err := UniqueClassIDs([]uint64{3, 1, 3, 2, 1})
	assert.NoError(t, err)
	assert.Equal(t, []uint64{1, 2, 3}, ids)

	ids, err = UniqueClassIDs(nil)
	assert.NoError(t, err)
	assert.Empty(t, ids)

	_, err = UniqueClassIDs([]uint64{5, 0})
	assert.ErrorIs(t, err, ErrInvalid)
}
