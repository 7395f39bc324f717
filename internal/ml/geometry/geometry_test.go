package geometry

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIoU(t *testing.T) {
	tests := []struct {
		name string
		a, b Box
		want float64
	}{
		{"identical", Box{0, 0, 10, 10}, Box{0, 0, 10, 10}, 1},
		{"disjoint", Box{0, 0, 10, 10}, Box{20, 20, 5, 5}, 0},
		{"touching", Box{0, 0, 10, 10}, Box{10, 0, 10, 10}, 0},
		{"half", Box{0, 0, 10, 10}, Box{5, 0, 10, 10}, 50.0 / 150.0},
		{"contained", Box{0, 0, 10, 10}, Box{0, 0, 5, 5}, 0.25},
		{"empty", Box{0, 0, 0, 10}, Box{0, 0, 10, 10}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, IoU(tt.a, tt.b), 1e-12)
			assert.InDelta(t, tt.want, IoU(tt.b, tt.a), 1e-12)
		})
	}
}

func TestNMS(t *testing.T) {
	in := []Scored{
		{Box{0, 0, 10, 10}, 0.8},
		{Box{1, 1, 10, 10}, 0.9},   // overlaps the first (IoU 0.68): wins, first dropped
		{Box{50, 50, 10, 10}, 0.7}, // separate face
		{Box{5, 0, 10, 10}, 0.75},  // IoU with 0.9 box = 36/164 < 0.4: kept
	}
	got := NMS(in, 0.4)
	require.Len(t, got, 3)
	assert.Equal(t, 0.9, got[0].Score)
	assert.Equal(t, 0.75, got[1].Score)
	assert.Equal(t, 0.7, got[2].Score)
	assert.Empty(t, NMS(nil, 0.4))
}

func TestLetterboxRoundTrip(t *testing.T) {
	tests := []struct {
		w, h       int
		scale      float64
		padX, padY float64
	}{
		{640, 480, 0.5, 0, 0},
		{1000, 500, 0.32, 0, 40},
		{240, 480, 0.5, 100, 0},
	}
	for _, tt := range tests {
		l := NewLetterbox(tt.w, tt.h, 320, 240)
		assert.InDelta(t, tt.scale, l.Scale, 1e-12)
		assert.InDelta(t, tt.padX, l.PadX, 1e-9)
		assert.InDelta(t, tt.padY, l.PadY, 1e-9)
		p := Point{123.5, 77.25}
		q := l.ToSource(l.ToCanvas(p))
		assert.InDelta(t, p.X, q.X, 1e-9)
		assert.InDelta(t, p.Y, q.Y, 1e-9)
		// The source corners land inside the canvas.
		c := l.ToCanvas(Point{float64(tt.w), float64(tt.h)})
		assert.LessOrEqual(t, c.X, 320+1e-9)
		assert.LessOrEqual(t, c.Y, 240+1e-9)
	}
}

func TestSimilarityRecoversTransform(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		ang := r.Float64()*2*math.Pi - math.Pi
		s := 0.2 + 3*r.Float64()
		want := Affine{s * math.Cos(ang), -s * math.Sin(ang), r.Float64()*200 - 100, s * math.Sin(ang), s * math.Cos(ang), r.Float64()*200 - 100}
		src := make([]Point, 5)
		dst := make([]Point, 5)
		for k := range src {
			src[k] = Point{r.Float64() * 300, r.Float64() * 300}
			dst[k] = want.Apply(src[k])
		}
		got, ok := Similarity(src, dst)
		require.True(t, ok)
		for k := range want {
			assert.InDelta(t, want[k], got[k], 1e-6)
		}
		assert.InDelta(t, s, got.Scale(), 1e-6)
		inv, ok := got.Invert()
		require.True(t, ok)
		back := inv.Apply(dst[0])
		assert.InDelta(t, src[0].X, back.X, 1e-6)
	}
}

func TestSimilarityRejectsReflectionAndDegenerate(t *testing.T) {
	src := []Point{{0, 0}, {1, 0}, {0, 1}}
	mirrored := []Point{{0, 0}, {-1, 0}, {0, 1}}
	m, ok := Similarity(src, mirrored)
	require.True(t, ok)
	// A similarity has determinant > 0 (no reflection), even for a mirrored target.
	assert.Greater(t, m[0]*m[4]-m[1]*m[3], -1e-12)

	_, ok = Similarity([]Point{{1, 1}, {1, 1}}, []Point{{0, 0}, {1, 1}})
	assert.False(t, ok)
	_, ok = Similarity([]Point{{1, 1}}, []Point{{0, 0}})
	assert.False(t, ok)
}
