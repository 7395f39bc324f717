package uid_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/facelambda/facelambda/internal/core/uid"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id := uid.New()
		assert.Regexp(t, uuidV4, id)
		assert.False(t, seen[id], "repeated id %s", id)
		seen[id] = true
	}
}

func TestHex(t *testing.T) {
	for _, n := range []int{0, 1, 16} {
		h := uid.Hex(n)
		assert.Len(t, h, 2*n)
		assert.Regexp(t, `^[0-9a-f]*$`, h)
	}
	assert.NotEqual(t, uid.Hex(16), uid.Hex(16))
}
