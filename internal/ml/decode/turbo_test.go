package decode

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func skipWithoutTurbo(t *testing.T) {
	t.Helper()
	if !Turbo {
		t.Skip("libjpeg-turbo not compiled in (cgo disabled or noturbo tag)")
	}
}

// TestTurboMatchesPureGo checks libjpeg-turbo and image/jpeg decode the same
// JPEGs to nearly the same pixels, at full size and scaled (DCT scaling
// against decoding fully and box filtering).
func TestTurboMatchesPureGo(t *testing.T) {
	skipWithoutTurbo(t)
	tests := []struct {
		file    string
		minSide int
		maxDiff float64
	}{
		{"obama.jpg", 0, 0.5},
		// 4:2:0: libjpeg-turbo interpolates chroma, image/jpeg replicates it.
		{"obama_progressive.jpg", 0, 2.5},
		{"obama.jpg", 600, 2}, // 6/8
		{"obama.jpg", 455, 1}, // 4/8
		{"obama.jpg", 300, 2}, // 3/8
		{"obama.jpg", 100, 1}, // 1/8
		// 5/8 of a small, detailed 4:2:0 picture: the box filter's whole-pixel
		// cells differ most from DCT scaling at odd ratios.
		{"obama_progressive.jpg", 100, 4.5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/min%d", tt.file, tt.minSide), func(t *testing.T) {
			data := fixture(t, tt.file)
			turbo, err := Decode(data, Options{MinSide: tt.minSide})
			require.NoError(t, err)
			pure, err := Decode(data, Options{MinSide: tt.minSide, PureGo: true})
			require.NoError(t, err)
			assert.Equal(t, pure.Scale, turbo.Scale)
			d := meanAbsDiff(t, pure.Image, turbo.Image)
			t.Logf("%dx%d mean abs diff %.3f", turbo.Image.W, turbo.Image.H, d)
			assert.Less(t, d, tt.maxDiff)
		})
	}
}

// TestTurboPrematureEnd checks a truncated JPEG that gets past the
// end-of-image check is still refused: libjpeg-turbo's "premature end"
// warning is fatal here.
func TestTurboPrematureEnd(t *testing.T) {
	skipWithoutTurbo(t)
	data := fixture(t, "obama.jpg")
	cut := data[:len(data)/2]
	h, err := scanJPEG(cut)
	require.NoError(t, err)
	img, _, err := turboDecode(cut, h, 8)
	assert.Nil(t, img)
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), "Premature end of JPEG file")
}

func TestTurboCMYKFallsBack(t *testing.T) {
	skipWithoutTurbo(t)
	data := fixture(t, "obama_cmyk.jpg")
	h, err := scanJPEG(data)
	require.NoError(t, err)
	_, _, err = turboDecode(data, h, 8)
	assert.ErrorIs(t, err, errTurboColorspace)
	res, err := Decode(data, Options{})
	require.NoError(t, err)
	assert.Equal(t, 182, res.Image.W)
}

// TestDecodeConcurrent runs decodes in parallel; with -race it also checks
// the decompressor pool.
func TestDecodeConcurrent(t *testing.T) {
	data := fixture(t, "obama_progressive.jpg")
	want, err := Decode(data, Options{MinSide: 64})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				got, err := Decode(data, Options{MinSide: 64})
				if assert.NoError(t, err) {
					assert.Equal(t, want.Image.Pix, got.Image.Pix)
				}
			}
		})
	}
	wg.Wait()
}
