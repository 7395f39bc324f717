package challenge_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/geometry"
)

func TestGeometryCuesSigns(t *testing.T) {
	m := headModel(false)
	tests := []struct {
		name               string
		yaw, pitch         float64
		yawMin, yawMax     float64
		pitchMin, pitchMax float64
	}{
		{"frontal", 0, 0, -0.01, 0.01, -0.06, 0.06},
		{"turned to their left", 30, 0, 0.15, 1, -0.06, 0.06},
		{"turned to their right", -30, 0, -1, -0.15, -0.06, 0.06},
		{"looking up", 0, 20, -0.01, 0.01, 0.08, 1},
		{"looking down", 0, -20, -0.01, 0.01, -1, -0.08},
		{"up and left", 25, 15, 0.15, 1, 0.08, 1},
		{"down and right", -25, -15, -1, -0.15, -1, -0.08},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lm := project(m, tt.yaw, tt.pitch)
			yaw, ok := challenge.GeometryYaw(lm)
			require.True(t, ok)
			pitch, ok := challenge.GeometryPitch(lm)
			require.True(t, ok)
			assert.GreaterOrEqual(t, yaw, tt.yawMin, "yaw")
			assert.LessOrEqual(t, yaw, tt.yawMax, "yaw")
			assert.GreaterOrEqual(t, pitch, tt.pitchMin, "pitch")
			assert.LessOrEqual(t, pitch, tt.pitchMax, "pitch")
		})
	}
}

func TestGeometryCuesMonotonic(t *testing.T) {
	m := headModel(false)
	prevYaw, prevPitch := math.Inf(-1), math.Inf(-1)
	for deg := -40.0; deg <= 40; deg += 5 {
		yaw, ok := challenge.GeometryYaw(project(m, deg, 0))
		require.True(t, ok)
		pitch, ok := challenge.GeometryPitch(project(m, 0, deg))
		require.True(t, ok)
		assert.Greater(t, yaw, prevYaw, "yaw at %v", deg)
		assert.Greater(t, pitch, prevPitch, "pitch at %v", deg)
		prevYaw, prevPitch = yaw, pitch
	}
}

// Rolling the head (or the camera), moving and scaling the face leave the
// cues as they were.
func TestGeometryCuesRollInvariant(t *testing.T) {
	m := headModel(false)
	for _, pose := range [][2]float64{{0, 0}, {30, 0}, {-20, 10}, {0, -20}} {
		lm := project(m, pose[0], pose[1])
		yaw0, _ := challenge.GeometryYaw(lm)
		pitch0, _ := challenge.GeometryPitch(lm)
		for _, roll := range []float64{20, -20, 45, 90} {
			t.Run(fmt.Sprintf("pose %v roll %v", pose, roll), func(t *testing.T) {
				rolled := rotate2D(lm, roll, geometry.Point{X: 100, Y: -50})
				yaw, ok := challenge.GeometryYaw(rolled)
				require.True(t, ok)
				pitch, ok := challenge.GeometryPitch(rolled)
				require.True(t, ok)
				assert.InDelta(t, yaw0, yaw, 0.02)
				assert.InDelta(t, pitch0, pitch, 0.02)
			})
		}
	}
}

func TestGeometryCuesDegenerate(t *testing.T) {
	full := project(headModel(false), 0, 0)
	nan := append([]geometry.Point(nil), full...)
	nan[30].Y = math.NaN()
	// The jaw folded onto the nose: no face outline.
	noWidth := append([]geometry.Point(nil), full...)
	for i := 0; i <= 16; i++ {
		noWidth[i] = full[30]
	}
	tests := []struct {
		name  string
		lm    []geometry.Point
		pitch bool // the pitch cue is still defined
	}{
		{"nil", nil, false},
		{"67 points", full[:67], false},
		{"all zero", make([]geometry.Point, challenge.NumLandmarks), false},
		{"NaN", nan, false},
		{"no outline", noWidth, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var okY, okP bool
			require.NotPanics(t, func() {
				_, okY = challenge.GeometryYaw(tt.lm)
				_, okP = challenge.GeometryPitch(tt.lm)
			})
			assert.False(t, okY, "yaw")
			assert.Equal(t, tt.pitch, okP, "pitch")
		})
	}
}

func TestPerforms(t *testing.T) {
	c := newCapture(false)
	cfg := challenge.DefaultConfig()
	tests := []struct {
		name       string
		yaw, pitch float64
		eyes       float64
		action     challenge.Action
		want       bool
	}{
		{"frontal is neutral", 0, 0, 0.95, "", true},
		{"frontal with eyes closed is not neutral", 0, 0, 0.05, "", false},
		{"turned is not neutral", 30, 0, 0.95, "", false},
		{"turned left", 30, 0, 0.95, challenge.TurnLeft, true},
		{"turned left is not right", 30, 0, 0.95, challenge.TurnRight, false},
		{"turned right", -30, 0, 0.95, challenge.TurnRight, true},
		{"a small turn is not enough", 10, 0, 0.95, challenge.TurnLeft, false},
		{"looking up", 0, 25, 0.95, challenge.LookUp, true},
		{"looking down", 0, -25, 0.95, challenge.LookDown, true},
		{"blink is not a pose", 0, 0, 0.05, challenge.Blink, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := c.frame(0, tc.yaw, tc.pitch, tc.eyes)
			assert.Equal(t, tc.want, challenge.Performs(o, cfg, tc.action))
		})
	}
}
