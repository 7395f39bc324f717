//go:build cgo && !noturbo

package decode

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTurboScalingFactors(t *testing.T) {
	for m := 1; m <= 8; m++ {
		assert.True(t, turboEighths()[m], "libjpeg-turbo cannot scale by %d/8", m)
	}
}
