package raster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/geometry"
)

func gradient(w, h int) *RGB {
	m := New(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			m.Pix[i], m.Pix[i+1], m.Pix[i+2] = uint8(x), uint8(y), 100
		}
	}
	return m
}

func TestShrinkAverages(t *testing.T) {
	m := gradient(8, 6)
	s := Shrink(m, 2)
	require.Equal(t, 4, s.W)
	require.Equal(t, 3, s.H)
	r, g, b := s.At(1, 1)
	// Pixels x in {2,3}, y in {2,3}: mean x 2.5, mean y 2.5 (rounded half up).
	assert.Equal(t, uint8(3), r)
	assert.Equal(t, uint8(3), g)
	assert.Equal(t, uint8(100), b)
	assert.Same(t, m, Shrink(m, 1))
}

func TestResizeIdentityAndCrop(t *testing.T) {
	m := gradient(40, 30)
	same := Resize(m, geometry.Box{X: 0, Y: 0, W: 40, H: 30}, 40, 30)
	assert.Equal(t, m.Pix, same.Pix)

	crop := Resize(m, geometry.Box{X: 10, Y: 5, W: 8, H: 8}, 8, 8)
	r, g, _ := crop.At(0, 0)
	assert.Equal(t, uint8(10), r)
	assert.Equal(t, uint8(5), g)

	// Outside the source is black.
	out := Resize(m, geometry.Box{X: -100, Y: -100, W: 10, H: 10}, 4, 4)
	r, g, b := out.At(0, 0)
	assert.Equal(t, [3]uint8{0, 0, 0}, [3]uint8{r, g, b})

	// Downscaling a gradient by 4 keeps its mean.
	half := Resize(m, geometry.Box{X: 0, Y: 0, W: 40, H: 30}, 10, 15)
	r, _, _ = half.At(5, 0)
	assert.InDelta(t, 21.5, float64(r), 1.01)
}

func TestRotate90(t *testing.T) {
	m := gradient(3, 2)
	r := m.Rotate90(1)
	require.Equal(t, 2, r.W)
	require.Equal(t, 3, r.H)
	// Clockwise: the source's bottom-left (0,1) lands at the top-left.
	x, y, _ := r.At(0, 0)
	assert.Equal(t, [2]uint8{0, 1}, [2]uint8{x, y})
	back := r.Rotate90(3)
	assert.Equal(t, m.Pix, back.Pix)
	assert.Equal(t, m.Rotate90(2).Rotate90(2).Pix, m.Pix)
}
