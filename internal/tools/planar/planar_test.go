package planar

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

func TestHomographyIdentityAtRest(t *testing.T) {
	hm, err := Homography(640, 480, 0, 0, 2.5)
	require.NoError(t, err)
	for _, p := range []geometry.Point{{X: 0, Y: 0}, {X: 320, Y: 240}, {X: 640, Y: 480}, {X: 100, Y: 400}} {
		q := hm.Apply(p)
		assert.InDelta(t, p.X, q.X, 1e-6)
		assert.InDelta(t, p.Y, q.Y, 1e-6)
	}
}

func TestTurnForeshortens(t *testing.T) {
	// A white picture with a black vertical bar at three quarters of its
	// width: turned by 40 degrees its image is narrower, so the bar moves
	// towards the centre.
	src := raster.New(200, 100)
	for y := 0; y < 100; y++ {
		for x := 0; x < 200; x++ {
			v := uint8(255)
			if x >= 148 && x < 152 {
				v = 0
			}
			i := 3 * (y*200 + x)
			src.Pix[i], src.Pix[i+1], src.Pix[i+2] = v, v, v
		}
	}
	out, err := Turn(src, 40, 0, 2.5)
	require.NoError(t, err)
	bar := -1
	for x := 0; x < 200; x++ {
		if r, _, _ := out.At(x, 50); r < 100 {
			bar = x
			break
		}
	}
	require.Positive(t, bar, "the bar is still visible")
	assert.Less(t, bar, 145, "the bar moved towards the centre")
	assert.Greater(t, bar, 115)
	r, _, _ := out.At(199, 50)
	assert.Equal(t, uint8(128), r, "outside the turned picture is grey")

	_, err = Turn(raster.New(1, 1), 10, 0, 2.5)
	require.Error(t, err)
}
