package challenge_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/geometry"
)

func TestEyeAspectRatio(t *testing.T) {
	open := project(headModel(false), 0, 0)[36:42]
	tests := []struct {
		name     string
		eye      []geometry.Point
		ok       bool
		min, max float64
	}{
		{"open model eye", open, true, 0.30, 0.34},
		{"closed to a tenth", project(withEyes(headModel(false), 0.1), 0, 0)[36:42], true, 0.02, 0.04},
		{"rolled and scaled", rotate2D(project(headModel(false), 0, 0), 30, geometry.Point{X: 320, Y: 200})[36:42], true, 0.30, 0.34},
		{"too few points", open[:5], false, 0, 0},
		{"corners coincide", pts(1, 1, 1, 0, 1, 0, 1, 1, 1, 2, 1, 2), false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := challenge.EyeAspectRatio(tt.eye)
			require.Equal(t, tt.ok, ok)
			if ok {
				assert.GreaterOrEqual(t, r, tt.min)
				assert.LessOrEqual(t, r, tt.max)
			}
		})
	}
}

// Moves are measured from the subject's resting pose: the median of the
// first steady frames, clamped to Config.RestMaxYaw and RestMaxPitch.
func TestAnalyzeRestPose(t *testing.T) {
	cfg := challenge.DefaultConfig()
	tests := []struct {
		name               string
		restYaw, restPitch float64
		actions            []challenge.Action
		perform            func(c *capture)
		status             challenge.Status
		diag               string
		wantYaw, wantPitch float64
	}{
		{
			// A phone held below the face: every frame at pitch -15; no
			// frame is within 10 degrees of frontal.
			name: "phone below the face", restPitch: -15,
			actions: []challenge.Action{challenge.TurnLeft, challenge.LookDown, challenge.Blink},
			status:  challenge.StatusSuccess, wantPitch: -15,
		},
		{
			name: "camera to one side", restYaw: 9,
			actions: []challenge.Action{challenge.TurnRight, challenge.LookUp},
			status:  challenge.StatusSuccess, wantYaw: 9,
		},
		{
			// From a rest at yaw 10, reaching 25 is a 15-degree turn: too
			// small, although 25 is past Config.Turn from frontal.
			name: "small turn from a turned rest", restYaw: 10,
			actions: []challenge.Action{challenge.TurnLeft},
			perform: func(c *capture) { c.turn(15).neutral(2) },
			status:  challenge.StatusFailed, diag: "challenge TURN_LEFT not performed", wantYaw: 10,
		},
		{
			// A rest further off than RestMaxPitch is taken at the bound:
			// the subject is never near it, so no move is armed.
			name: "rest beyond the bound", restPitch: -35,
			actions: []challenge.Action{challenge.TurnLeft},
			status:  challenge.StatusFailed, diag: "challenge TURN_LEFT not performed", wantPitch: -cfg.RestMaxPitch,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture(false)
			c.restYaw, c.restPitch = tt.restYaw, tt.restPitch
			c.neutral(3)
			if tt.perform != nil {
				tt.perform(c)
			} else {
				for _, a := range tt.actions {
					c.perform(a).neutral(2)
				}
			}
			res := challenge.Analyze(tt.actions, c.obs, cfg)
			assert.Equal(t, tt.status, res.Status, res.Diagnostic)
			assert.Equal(t, tt.diag, res.Diagnostic)
			assert.InDelta(t, tt.wantYaw, res.Rest.Yaw, 0.5)
			assert.InDelta(t, tt.wantPitch, res.Rest.Pitch, 0.5)
			assert.Positive(t, res.Rest.Frames)
		})
	}
}

// Eye openness is read from the landmarks' eye aspect ratio against the
// subject's own open eyes; the eye model counts only where it agrees.
func TestAnalyzeEyeBaseline(t *testing.T) {
	cfg := challenge.DefaultConfig()
	tests := []struct {
		name        string
		eyeScale    float64 // the subject's eye opening in the landmarks
		model       float64 // the eye model's reading on every frame (< 0: as performed)
		status      challenge.Status
		baseMin     float64
		baseMax     float64
		modelAgrees bool
	}{
		{"eye model and landmarks agree", 1, -1, challenge.StatusSuccess, 0.28, 0.32, true},
		// Narrow eyes that the eye model reads as closed throughout: the
		// landmarks, against the subject's own baseline, still see the
		// neutral frames and the blink.
		{"narrow eyes, eye model reading closed", 0.5, 0.05, challenge.StatusSuccess, 0.14, 0.16, false},
		// The eye model reads open eyes throughout: the landmarks' closure
		// is not confirmed, so no blink.
		{"eye model never closing", 1, 1, challenge.StatusFailed, 0.28, 0.32, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture(false)
			c.eyeScale = tt.eyeScale
			c.neutral(3).turn(35).neutral(2).blink().neutral(3)
			if tt.model >= 0 {
				for i := range c.obs {
					c.obs[i].LeftEyeOpen, c.obs[i].RightEyeOpen = tt.model, tt.model
				}
			}
			res := challenge.Analyze([]challenge.Action{challenge.TurnLeft, challenge.Blink}, c.obs, cfg)
			assert.Equal(t, tt.status, res.Status, res.Diagnostic)
			assert.GreaterOrEqual(t, res.Eyes.Left, tt.baseMin)
			assert.LessOrEqual(t, res.Eyes.Left, tt.baseMax)
			assert.InDelta(t, res.Eyes.Left, res.Eyes.Right, 0.01)
			assert.Equal(t, tt.modelAgrees, res.Eyes.ModelAgrees)
		})
	}
}
