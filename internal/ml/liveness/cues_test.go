package liveness

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// paint returns a w x h image whose pixel (x, y) is f(x, y).
func paint(w, h int, f func(x, y int) (r, g, b uint8)) *raster.RGB {
	img := raster.New(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			img.Pix[i], img.Pix[i+1], img.Pix[i+2] = f(x, y)
		}
	}
	return img
}

func TestCues(t *testing.T) {
	face := geometry.Box{X: 150, Y: 100, W: 100, H: 100}
	flat := paint(400, 300, func(x, y int) (uint8, uint8, uint8) { return 128, 128, 128 })
	checker := paint(400, 300, func(x, y int) (uint8, uint8, uint8) {
		if (x/8+y/8)%2 == 0 {
			return 40, 40, 40
		}
		return 220, 220, 220
	})
	colour := paint(400, 300, func(x, y int) (uint8, uint8, uint8) {
		if (x/8+y/8)%2 == 0 {
			return 200, 60, 60
		}
		return 60, 60, 200
	})
	// A bright vertical bar left of the face: a bezel edge.
	bezel := paint(400, 300, func(x, y int) (uint8, uint8, uint8) {
		if x >= 60 && x < 70 {
			return 250, 250, 250
		}
		return 100, 100, 100
	})
	for _, c := range []struct {
		name  string
		img   *raster.RGB
		check func(t *testing.T, c map[string]float64)
	}{
		{"flat grey", flat, func(t *testing.T, c map[string]float64) {
			assert.InDelta(t, 0, c[CueContrast], 1e-9) // log(SD 0 + 1)
			assert.InDelta(t, 0, c[CueChroma], 1e-9)
			assert.InDelta(t, 0, c[CueSat], 1e-9)
			assert.InDelta(t, 0, c[CueGlare], 1e-9)
		}},
		{"grey checkerboard", checker, func(t *testing.T, c map[string]float64) {
			assert.InDelta(t, math.Log(90+1), c[CueContrast], 0.1) // SD of two levels 180 apart
			assert.InDelta(t, 0, c[CueChroma], 1e-6)
		}},
		{"coloured checkerboard", colour, func(t *testing.T, c map[string]float64) {
			assert.Greater(t, c[CueChroma], 50.0)
			assert.Greater(t, c[CueSat], 0.5)
		}},
		{"bezel", bezel, func(t *testing.T, c map[string]float64) {
			assert.Greater(t, c[CueBorder], 5.0)
			assert.Greater(t, c[CueGlare], 0.0)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Cues(c.img, face)
			require.Len(t, got, len(CueNames))
			c.check(t, got)
		})
	}
	// The flat image has no edge anywhere: its border cue is far lower.
	assert.Less(t, Cues(flat, face)[CueBorder], Cues(bezel, face)[CueBorder])
	// A box outside the image gives zeros, not a panic.
	assert.Equal(t, 0.0, Cues(flat, geometry.Box{X: 1000, Y: 1000, W: 10, H: 10})[CueContrast])
}

func TestDetectorAddsTerms(t *testing.T) {
	a := &fakeModel{size: 16, live: 0}
	sa, err := NewScorer(Spec{Name: "a", Size: 16, Crops: []Crop{{Scale: 2.7}}, Channels: "BGR", Live: 0, Weight: 2}, a)
	require.NoError(t, err)
	plain, err := New(sa)
	require.NoError(t, err)
	terms := Terms{Cues: []CueWeight{{Name: CueContrast, Weight: -2}, {Name: CueChroma, Weight: 0.5}}, Offset: 3}
	d, err := NewFused(terms, sa)
	require.NoError(t, err)
	img := paint(200, 150, func(x, y int) (uint8, uint8, uint8) {
		if (x/4+y/4)%2 == 0 {
			return 250, 250, 250
		}
		return 150, 150, 200
	})
	box := geometry.Box{X: 80, Y: 50, W: 40, H: 50}
	res, err := d.Score(img, box)
	require.NoError(t, err)
	cues := Cues(img, box)
	assert.Equal(t, map[string]float64{CueContrast: cues[CueContrast], CueChroma: cues[CueChroma]}, res.Cues, "only the weighed cues")
	want := res.Models["a"] + 3 - 2*cues[CueContrast] + 0.5*cues[CueChroma]
	assert.InDelta(t, want, res.Score, 1e-9)
	assert.Equal(t, d.Fuse(res.Models, res.Cues), res.Score)
	pr, err := plain.Score(img, box)
	require.NoError(t, err)
	assert.Nil(t, pr.Cues, "no cue measured when none is weighed")
	assert.Equal(t, pr.Models["a"], pr.Score)

	// The terms are part of the fusion's name; the offset only in its digest.
	assert.Contains(t, d.Fusion(), "a*2+cue_contrast*-2+cue_chroma*0.5@")
	other, err := NewFused(Terms{Cues: terms.Cues, Offset: 4}, sa)
	require.NoError(t, err)
	assert.NotEqual(t, d.Fusion(), other.Fusion())
	assert.NotEqual(t, d.Fusion(), plain.Fusion())
	// Without keeps the terms.
	w, err := d.Without("nothing")
	require.NoError(t, err)
	assert.Equal(t, d.Fusion(), w.Fusion())
	assert.Equal(t, terms, w.Terms())

	_, err = NewFused(Terms{Cues: []CueWeight{{Name: "cue_unknown", Weight: 1}}}, sa)
	assert.Error(t, err)
	_, err = NewFused(Terms{Offset: math.NaN()}, sa)
	assert.Error(t, err)
}

func TestManifestTerms(t *testing.T) {
	got, err := ManifestTerms([]byte(`{"liveness_terms": {"cues": [{"name": "cue_contrast", "weight": -1.5}], "offset": 2}, "files": []}`))
	require.NoError(t, err)
	assert.Equal(t, Terms{Cues: []CueWeight{{Name: CueContrast, Weight: -1.5}}, Offset: 2}, got)
	got, err = ManifestTerms([]byte(`{"files": []}`))
	require.NoError(t, err)
	assert.Equal(t, Terms{}, got)
	_, err = ManifestTerms([]byte(`{"liveness_terms": {"cues": [{"name": "moire", "weight": 1}]}}`))
	assert.Error(t, err)
}

// BenchmarkCues measures the image cues on a 640x480 frame: a small cost
// beside the models (several milliseconds per run of fr_liveness).
func BenchmarkCues(b *testing.B) {
	img := paint(640, 480, func(x, y int) (uint8, uint8, uint8) { return uint8(x), uint8(y), uint8(x ^ y) })
	box := geometry.Box{X: 250, Y: 150, W: 140, H: 170}
	b.Run("all", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Cues(img, box)
		}
	})
	b.Run("shipped", func(b *testing.B) { // contrast and chroma
		for i := 0; i < b.N; i++ {
			CuesOf(img, box, CueContrast, CueChroma)
		}
	})
}
