package challenge_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/geometry"
)

func TestFitHomographyRecovers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var cloud []geometry.Point
	for i := 0; i < 30; i++ {
		cloud = append(cloud, geometry.Point{X: 40 + 560*r.Float64(), Y: 30 + 420*r.Float64()})
	}
	square := pts(0, 0, 100, 0, 100, 100, 0, 100)
	tests := []struct {
		name string
		h    challenge.Homography
		src  []geometry.Point
	}{
		{"identity", challenge.Homography{1, 0, 0, 0, 1, 0, 0, 0, 1}, cloud},
		{"similarity", challenge.Homography{0.9, -0.3, 25, 0.3, 0.9, -40, 0, 0, 1}, cloud},
		{"affine", challenge.Homography{1.2, 0.15, -10, -0.05, 0.8, 12, 0, 0, 1}, cloud},
		{"projective", challenge.Homography{1.1, 0.2, 30, -0.1, 0.9, 50, 4e-4, -3e-4, 1}, cloud},
		{"strong perspective", challenge.Homography{0.7, 0.1, 200, 0.05, 1.3, -20, -9e-4, 6e-4, 1}, cloud},
		{"four points", challenge.Homography{1.1, 0.2, 30, -0.1, 0.9, 50, 2e-3, -1e-3, 1}, square},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]geometry.Point, len(tt.src))
			for i, p := range tt.src {
				dst[i] = tt.h.Apply(p)
			}
			got, ok := challenge.FitHomography(tt.src, dst)
			require.True(t, ok)
			assert.InDelta(t, 1, got[8], 1e-12)
			for i := range got {
				assert.InDelta(t, tt.h[i], got[i], 1e-7*math.Max(1, math.Abs(tt.h[i])), "h[%d]", i)
			}
			for i, p := range tt.src {
				assert.Less(t, geometry.Dist(got.Apply(p), dst[i]), 1e-6)
			}
		})
	}
}

func TestFitHomographyDegenerate(t *testing.T) {
	line := pts(0, 0, 1, 1, 2, 2, 3, 3, 5, 5, 8, 8)
	three := pts(0, 0, 10, 0, 0, 10)
	square := pts(0, 0, 10, 0, 10, 10, 0, 10)
	same := pts(4, 4, 4, 4, 4, 4, 4, 4, 4, 4)
	nan := pts(0, 0, 10, 0, 10, 10, math.NaN(), 10)
	inf := pts(0, 0, 10, 0, 10, 10, math.Inf(1), 10)
	// Three of the four points collinear: no unique homography.
	threeCollinear := pts(0, 0, 5, 0, 10, 0, 0, 10)
	tests := []struct {
		name     string
		src, dst []geometry.Point
	}{
		{"nil", nil, nil},
		{"three points", three, three},
		{"different lengths", square, append(square, geometry.Point{X: 1, Y: 2})},
		{"collinear source", line, line},
		{"collinear target", append(square, square...), append(line[:4], line[:4]...)},
		{"coincident", same, same},
		{"three of four collinear", threeCollinear, square},
		{"NaN", nan, square},
		{"Inf", square, inf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ok bool
			require.NotPanics(t, func() { _, ok = challenge.FitHomography(tt.src, tt.dst) })
			assert.False(t, ok)
		})
	}
}

func TestPlanarResiduals(t *testing.T) {
	tests := []struct {
		name       string
		flat       bool
		yaw, pitch float64
		// Bounds on the residuals (fractions of the inter-eye distance).
		simMin, homMin, homMax float64
	}{
		{"photo turned 35", true, 35, 0, 0.04, 0, 1e-6},
		{"photo turned right and tilted", true, -25, -25, 0.04, 0, 1e-6},
		{"photo tilted back", true, 0, 25, 0.04, 0, 1e-6},
		{"head turned 25", false, 25, 0, 0.04, 0.03, math.Inf(1)},
		{"head turned right 35", false, -35, 0, 0.04, 0.03, math.Inf(1)},
		{"head looks up 20", false, 0, 20, 0.04, 0.03, math.Inf(1)},
		{"head looks down 20", false, 0, -20, 0.04, 0.03, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := headModel(tt.flat)
			ref := project(m, 0, 0)
			sim, hom, ok := challenge.PlanarResiduals(ref, project(m, tt.yaw, tt.pitch))
			require.True(t, ok)
			assert.GreaterOrEqual(t, sim, tt.simMin, "similarity")
			assert.GreaterOrEqual(t, hom, tt.homMin, "homography")
			assert.LessOrEqual(t, hom, tt.homMax, "homography")
			assert.Less(t, hom, sim, "a homography fits at least as well as a similarity")
		})
	}
}

// Moving in the image plane (shift, roll, coming closer) is no evidence
// either way: the residuals do not change.
func TestPlanarResidualsSimilarityInvariant(t *testing.T) {
	m := headModel(false)
	ref, moved := project(m, 0, 0), project(m, 25, 0)
	sim0, hom0, ok := challenge.PlanarResiduals(ref, moved)
	require.True(t, ok)
	tests := []struct {
		name  string
		deg   float64
		scale float64
		dx    float64
	}{
		{"still", 0, 1, 0},
		{"rolled", 20, 1, 0},
		{"shifted", 0, 1, 150},
		{"closer", 0, 1.6, 0},
		{"further and rolled", -30, 0.5, -40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := geometry.Point{X: 300, Y: 250}
			got := rotate2D(moved, tt.deg, c)
			for i, p := range got {
				got[i] = geometry.Point{X: c.X + tt.scale*(p.X-c.X) + tt.dx, Y: c.Y + tt.scale*(p.Y-c.Y)}
			}
			sim, hom, ok := challenge.PlanarResiduals(ref, got)
			require.True(t, ok)
			assert.InDelta(t, sim0, sim, 1e-9)
			assert.InDelta(t, hom0, hom, 1e-6)
		})
	}
}

func TestPlanarResidualsDegenerate(t *testing.T) {
	full := project(headModel(false), 0, 0)
	same := make([]geometry.Point, challenge.NumLandmarks)
	collinear := make([]geometry.Point, challenge.NumLandmarks)
	for i := range collinear {
		collinear[i] = geometry.Point{X: float64(i), Y: 2 * float64(i)}
	}
	nan := append([]geometry.Point(nil), full...)
	nan[10].X = math.NaN()
	tests := []struct {
		name       string
		ref, moved []geometry.Point
	}{
		{"nil", nil, nil},
		{"too few points", full[:47], full[:47]},
		{"different lengths", full, full[:60]},
		{"coincident", same, same},
		{"collinear", collinear, collinear},
		{"NaN", full, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ok bool
			require.NotPanics(t, func() { _, _, ok = challenge.PlanarResiduals(tt.ref, tt.moved) })
			assert.False(t, ok)
		})
	}
	// The subset 0-47 suffices.
	_, _, ok := challenge.PlanarResiduals(full[:48], full[:48])
	assert.True(t, ok)
}
