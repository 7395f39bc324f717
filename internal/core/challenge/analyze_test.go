package challenge_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/challenge"
)

// performing returns a capture of a frontal start, each action performed
// in turn with neutral frames between, and a frontal end.
func performing(flat bool, actions ...challenge.Action) *capture {
	c := newCapture(flat).neutral(3)
	for _, a := range actions {
		c.perform(a).neutral(2)
	}
	return c
}

var tlBlinkUp = []challenge.Action{challenge.TurnLeft, challenge.Blink, challenge.LookUp}

// unscored performs tlBlinkUp with no frame scored by the passive model.
func unscored() []challenge.Observation {
	obs := performing(false, tlBlinkUp...).obs
	for i := range obs {
		obs[i].Live = math.NaN()
	}
	return obs
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name    string
		actions []challenge.Action
		obs     func() []challenge.Observation
		cfg     func(*challenge.Config)
		status  challenge.Status
		diag    string
		check   func(*testing.T, []challenge.Observation, challenge.Result)
	}{
		{
			name:    "success",
			actions: tlBlinkUp,
			obs:     func() []challenge.Observation { return performing(false, tlBlinkUp...).obs },
			status:  challenge.StatusSuccess,
			check: func(t *testing.T, obs []challenge.Observation, r challenge.Result) {
				prev := -1
				for i, s := range r.Steps {
					assert.Equal(t, tlBlinkUp[i], s.Action)
					require.True(t, s.Met, "step %d", i)
					assert.Greater(t, s.Frame, prev, "step %d after the previous", i)
					assert.Equal(t, obs[s.Frame].Time, s.At)
					prev = s.Frame
				}
				// The peaks are the first frames at 35 degrees yaw and 25 pitch.
				assert.Equal(t, 35.0, obs[r.Steps[0].Peak].Yaw)
				assert.Equal(t, 25.0, obs[r.Steps[2].Peak].Pitch)
				assert.Equal(t, -1, r.Steps[1].Peak)
				assert.Equal(t, 0, r.BestFrame)
				assert.Greater(t, r.MinCosine, 0.9)
				assert.Equal(t, 2, r.Planarity.Pairs)
				assert.Equal(t, []int{r.Steps[0].Peak, r.Steps[2].Peak}, r.Planarity.Frames)
				assert.Greater(t, r.Planarity.Homography, 0.03)
				assert.False(t, r.Planarity.Planar)
				assert.Equal(t, 2.0, r.LiveMedian)
				assert.Equal(t, len(obs), r.LiveFrames)
				assert.Equal(t, obs[len(obs)-1].Time, r.Duration)
			},
		},
		{
			name:    "challenge missing",
			actions: tlBlinkUp,
			obs:     func() []challenge.Observation { return performing(false, challenge.TurnLeft, challenge.Blink).obs },
			status:  challenge.StatusFailed,
			diag:    "challenge LOOK_UP not performed",
			check: func(t *testing.T, _ []challenge.Observation, r challenge.Result) {
				assert.True(t, r.Steps[0].Met)
				assert.True(t, r.Steps[1].Met)
				assert.False(t, r.Steps[2].Met)
				assert.Equal(t, -1, r.Steps[2].Frame)
			},
		},
		{
			name:    "wrong order",
			actions: []challenge.Action{challenge.TurnLeft, challenge.LookUp},
			obs: func() []challenge.Observation {
				return performing(false, challenge.LookUp, challenge.TurnLeft, challenge.LookUp).obs
			},
			status: challenge.StatusFailed,
			diag:   "wrong challenge order",
		},
		{
			// A head swinging between two turns may read as a look on one
			// frame: not a move out of turn; on two frames in a row it is.
			name:    "one frame out of turn",
			actions: []challenge.Action{challenge.TurnRight, challenge.TurnLeft},
			obs: func() []challenge.Observation {
				c := newCapture(false).neutral(3).perform(challenge.TurnRight).neutral(1)
				c.add(0, 25, 0.95)
				return c.neutral(1).perform(challenge.TurnLeft).neutral(2).obs
			},
			status: challenge.StatusSuccess,
		},
		{
			name:    "two frames out of turn",
			actions: []challenge.Action{challenge.TurnRight, challenge.TurnLeft},
			obs: func() []challenge.Observation {
				c := newCapture(false).neutral(3).perform(challenge.TurnRight).neutral(1)
				c.add(0, 25, 0.95).add(0, 25, 0.95)
				return c.neutral(1).perform(challenge.TurnLeft).neutral(2).obs
			},
			status: challenge.StatusFailed,
			diag:   "wrong challenge order",
		},
		{
			name:    "wrong order tolerated when not strict",
			actions: []challenge.Action{challenge.TurnLeft, challenge.LookUp},
			obs: func() []challenge.Observation {
				return performing(false, challenge.LookUp, challenge.TurnLeft, challenge.LookUp).obs
			},
			cfg:    func(c *challenge.Config) { c.StrictOrder = false },
			status: challenge.StatusSuccess,
		},
		{
			name:    "turning the other way first is wrong",
			actions: []challenge.Action{challenge.TurnLeft},
			obs: func() []challenge.Observation {
				return performing(false, challenge.TurnRight, challenge.TurnLeft).obs
			},
			status: challenge.StatusFailed,
			diag:   "wrong challenge order",
		},
		{
			name:    "blinking out of turn is fine",
			actions: []challenge.Action{challenge.TurnLeft, challenge.LookDown},
			obs: func() []challenge.Observation {
				return performing(false, challenge.Blink, challenge.TurnLeft, challenge.Blink, challenge.LookDown).obs
			},
			status: challenge.StatusSuccess,
		},
		{
			name:    "one turn cannot meet two steps",
			actions: []challenge.Action{challenge.TurnLeft, challenge.TurnLeft},
			obs: func() []challenge.Observation {
				c := newCapture(false).neutral(3)
				for _, yaw := range []float64{10, 20, 30, 35, 25, 35, 25, 35, 20, 10, 0} {
					c.add(yaw, 0, 0.95)
				}
				return c.neutral(3).obs
			},
			status: challenge.StatusFailed,
			diag:   "challenge TURN_LEFT not performed",
			check: func(t *testing.T, _ []challenge.Observation, r challenge.Result) {
				assert.True(t, r.Steps[0].Met)
				assert.False(t, r.Steps[1].Met)
			},
		},
		{
			name:    "two turns with a return to neutral",
			actions: []challenge.Action{challenge.TurnLeft, challenge.TurnLeft},
			obs: func() []challenge.Observation {
				return performing(false, challenge.TurnLeft, challenge.TurnLeft).obs
			},
			status: challenge.StatusSuccess,
		},
		{
			name:    "no neutral start",
			actions: []challenge.Action{challenge.TurnLeft},
			obs: func() []challenge.Observation {
				c := newCapture(false)
				for _, yaw := range []float64{35, 35, 35, 30, 20, 10} {
					c.add(yaw, 0, 0.95)
				}
				return c.neutral(4).obs
			},
			status: challenge.StatusFailed,
			diag:   "challenge TURN_LEFT not performed",
		},
		{
			name:    "pose model alone is not enough",
			actions: []challenge.Action{challenge.TurnLeft},
			obs: func() []challenge.Observation {
				c := performing(false, challenge.TurnLeft)
				front := project(c.model, 0, 0)
				for i := range c.obs {
					c.obs[i].Landmarks = front
				}
				return c.obs
			},
			status: challenge.StatusFailed,
			diag:   "challenge TURN_LEFT not performed",
		},
		{
			name:    "no landmarks, no pose action",
			actions: []challenge.Action{challenge.LookUp},
			obs: func() []challenge.Observation {
				c := performing(false, challenge.LookUp)
				for i := range c.obs {
					c.obs[i].Landmarks = nil
				}
				return c.obs
			},
			status: challenge.StatusFailed,
			diag:   "challenge LOOK_UP not performed",
		},
		{
			name:    "geometry alone without a pose",
			actions: []challenge.Action{challenge.TurnRight, challenge.Blink, challenge.LookDown},
			obs: func() []challenge.Observation {
				c := performing(false, challenge.TurnRight, challenge.Blink, challenge.LookDown)
				for i := range c.obs {
					c.obs[i].PoseAvailable = false
					c.obs[i].Yaw, c.obs[i].Pitch = 99, 99 // ignored
				}
				return c.obs
			},
			status: challenge.StatusSuccess,
		},
		{
			name:    "unknown eyes cannot blink",
			actions: []challenge.Action{challenge.Blink},
			obs: func() []challenge.Observation {
				c := performing(false, challenge.Blink)
				for i := range c.obs {
					c.obs[i].LeftEyeOpen, c.obs[i].Landmarks = -1, nil
				}
				return c.obs
			},
			status: challenge.StatusFailed,
			diag:   "challenge BLINK not performed",
		},
		{
			// A look down straight into a turn, with no pause facing the
			// camera: back on the pitch axis re-arms for the turn.
			name:    "look down straight into a turn",
			actions: []challenge.Action{challenge.LookDown, challenge.TurnLeft},
			obs: func() []challenge.Observation {
				c := newCapture(false).neutral(3)
				for _, p := range [][2]float64{{0, -8}, {0, -16}, {0, -25}, {0, -25}, {10, -15}, {20, -6}, {35, 0}, {35, 0}, {20, 0}} {
					c.add(p[0], p[1], 0.95)
				}
				return c.neutral(3).obs
			},
			status: challenge.StatusSuccess,
		},
		{
			// Back on the first move's axis re-arms only for another pose
			// move: a blink still needs a neutral frame first.
			name:    "look down into a blink while turned",
			actions: []challenge.Action{challenge.LookDown, challenge.Blink},
			obs: func() []challenge.Observation {
				c := newCapture(false).neutral(3)
				for _, p := range [][3]float64{{0, -16}, {0, -25}, {0, -25}, {15, -5}, {15, 0, 1}, {15, 0, 0.9}, {15, 0, 0.05}, {15, 0, 0.9}} {
					e := 0.95
					if p[2] > 0 {
						e = p[2]
					}
					c.add(p[0], p[1], e)
				}
				return c.obs
			},
			status: challenge.StatusFailed,
			diag:   "challenge BLINK not performed",
		},
		{
			// The landmarks' eye aspect ratio shows the blink.
			name:    "blink without the eye model",
			actions: []challenge.Action{challenge.Blink},
			obs: func() []challenge.Observation {
				c := performing(false, challenge.Blink)
				for i := range c.obs {
					c.obs[i].LeftEyeOpen, c.obs[i].RightEyeOpen = -1, -1
				}
				return c.obs
			},
			status: challenge.StatusSuccess,
		},
		{
			// Narrow eyes or glasses: the eye model reads open eyes as
			// closed throughout; the landmarks decide.
			name:    "eye model reading open eyes as closed",
			actions: []challenge.Action{challenge.TurnLeft, challenge.Blink, challenge.TurnRight},
			obs: func() []challenge.Observation {
				c := performing(false, challenge.TurnLeft, challenge.Blink, challenge.TurnRight)
				for i := range c.obs {
					c.obs[i].LeftEyeOpen, c.obs[i].RightEyeOpen = 0.05, 0.1
				}
				return c.obs
			},
			status: challenge.StatusSuccess,
		},
		{
			// The eye model reads both eyes wide open while the landmarks
			// close them: they disagree, so no closed frame.
			name:    "eye model disagreeing with a closure",
			actions: []challenge.Action{challenge.Blink},
			obs: func() []challenge.Observation {
				c := performing(false, challenge.Blink)
				for i := range c.obs {
					c.obs[i].LeftEyeOpen, c.obs[i].RightEyeOpen = 1, 1
				}
				return c.obs
			},
			status: challenge.StatusFailed,
			diag:   "challenge BLINK not performed",
		},
		{
			name:    "blink while turned away",
			actions: []challenge.Action{challenge.Blink},
			obs: func() []challenge.Observation {
				c := newCapture(false).neutral(3)
				for _, e := range []float64{0.9, 0.1, 0.05, 0.9} {
					c.add(25, 0, e)
				}
				return c.neutral(3).obs
			},
			// Turned 25 degrees is also a turn: not strict, that is no failure.
			cfg:    func(c *challenge.Config) { c.StrictOrder = false },
			status: challenge.StatusFailed,
			diag:   "challenge BLINK not performed",
		},
		{
			name:    "eyes half closed is no blink",
			actions: []challenge.Action{challenge.Blink},
			obs: func() []challenge.Observation {
				c := newCapture(false).neutral(3)
				for _, e := range []float64{0.9, 0.45, 0.4, 0.9} {
					c.add(0, 0, e)
				}
				return c.neutral(3).obs
			},
			status: challenge.StatusFailed,
			diag:   "challenge BLINK not performed",
		},
		{
			name:    "timeout",
			actions: tlBlinkUp,
			obs:     func() []challenge.Observation { return performing(false, tlBlinkUp...).obs },
			cfg:     func(c *challenge.Config) { c.Timeout = time.Second },
			status:  challenge.StatusTimeout,
			diag:    "timeout",
		},
		{
			name:    "gap",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				obs := performing(false, tlBlinkUp...).obs
				return append(obs[:10:10], obs[18:]...) // 900 ms without a frame
			},
			status: challenge.StatusFailed,
			diag:   "frames too far apart",
		},
		{
			name:    "too few frames",
			actions: []challenge.Action{challenge.Blink},
			obs:     func() []challenge.Observation { return newCapture(false).blink().obs },
			status:  challenge.StatusFailed,
			diag:    "too few frames",
		},
		{
			name:    "multiple faces",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				obs := performing(false, tlBlinkUp...).obs
				obs[8].Faces = 2
				return obs
			},
			status: challenge.StatusFailed,
			diag:   "multiple faces",
		},
		{
			name:    "face not visible",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				obs := performing(false, tlBlinkUp...).obs
				for i := 1; i < len(obs); i += 3 {
					obs[i] = challenge.Observation{Time: obs[i].Time, Live: math.NaN()}
				}
				return obs
			},
			status: challenge.StatusFailed,
			diag:   "face not visible",
		},
		{
			name:    "face changed",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				c := performing(false, tlBlinkUp...)
				other := unitVector(rand.New(rand.NewPCG(9, 9)), embedDim)
				for i := len(c.obs) / 2; i < len(c.obs); i++ {
					c.obs[i].Embedding = noisy(c.rng, other, 0.02)
				}
				return c.obs
			},
			status: challenge.StatusFailed,
			diag:   "face changed",
			check: func(t *testing.T, _ []challenge.Observation, r challenge.Result) {
				assert.Less(t, r.MinCosine, 0.4)
			},
		},
		{
			// One frame of another face (a hand across the face, blur) is
			// not a changed face; two in a row are.
			name:    "one odd frame is not a changed face",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				c := performing(false, tlBlinkUp...)
				other := unitVector(rand.New(rand.NewPCG(9, 9)), embedDim)
				c.obs[len(c.obs)/2].Embedding = noisy(c.rng, other, 0.02)
				return c.obs
			},
			status: challenge.StatusSuccess,
			check: func(t *testing.T, _ []challenge.Observation, r challenge.Result) {
				assert.Greater(t, r.MinCosine, 0.9)
			},
		},
		{
			name:    "two odd frames in a row are a changed face",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				c := performing(false, tlBlinkUp...)
				other := unitVector(rand.New(rand.NewPCG(9, 9)), embedDim)
				for i := len(c.obs) / 2; i < len(c.obs)/2+2; i++ {
					c.obs[i].Embedding = noisy(c.rng, other, 0.02)
				}
				return c.obs
			},
			status: challenge.StatusFailed,
			diag:   "face changed",
		},
		{
			// Isolated odd frames are forgiven only while few: another face
			// on every other frame is a changed face.
			name:    "another face on every other frame",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				c := performing(false, tlBlinkUp...)
				other := unitVector(rand.New(rand.NewPCG(9, 9)), embedDim)
				for i := 1; i < len(c.obs); i += 2 {
					c.obs[i].Embedding = noisy(c.rng, other, 0.02)
				}
				return c.obs
			},
			status: challenge.StatusFailed,
			diag:   "face changed",
		},
		{
			// Near profile the pose model reads yaw at random (here the wrong
			// sign) and the encoder another face: the geometry decides the
			// turn and those frames are left out of the identity check.
			name:    "turn to near profile",
			actions: []challenge.Action{challenge.TurnLeft},
			obs: func() []challenge.Observation {
				c := newCapture(false).neutral(3)
				for _, yaw := range []float64{70, 75, 75} {
					c.add(yaw, 0, 0.95)
					o := &c.obs[len(c.obs)-1]
					o.Yaw = -30
					o.Embedding = unitVector(c.rng, embedDim)
				}
				return c.neutral(3).obs
			},
			status: challenge.StatusSuccess,
			check: func(t *testing.T, obs []challenge.Observation, r challenge.Result) {
				gy, ok := challenge.GeometryYaw(obs[4].Landmarks)
				require.True(t, ok)
				assert.GreaterOrEqual(t, gy, challenge.DefaultConfig().GeomProfile, "the frames are near profile")
				assert.Greater(t, r.MinCosine, 0.9)
			},
		},
		{
			// The pose model reads a look up while the landmarks show mostly
			// a turn (as at the end of a turn back): not a look out of turn.
			name:    "a turn read with some pitch is not a look",
			actions: []challenge.Action{challenge.TurnLeft},
			obs: func() []challenge.Observation {
				c := newCapture(false).neutral(3)
				for range 2 {
					c.add(40, 13, 0.95)
					c.obs[len(c.obs)-1].Yaw = 10
				}
				c.neutral(3).perform(challenge.TurnLeft)
				return c.neutral(3).obs
			},
			status: challenge.StatusSuccess,
			check: func(t *testing.T, obs []challenge.Observation, r challenge.Result) {
				cfg := challenge.DefaultConfig()
				assert.True(t, challenge.PerformsFrom(obs[0], obs[3], cfg, challenge.LookUp), "the frame performs a look up")
			},
		},
		{
			// Blinks only: a nearly still head's landmarks move by
			// expression and noise, which a homography fits on a real face
			// too; only motion above PlanarStillMotion is tested.
			name:    "blink with a nearly still head",
			actions: []challenge.Action{challenge.Blink},
			obs: func() []challenge.Observation {
				c := newCapture(true).neutral(3)
				c.add(25, 0, 0.95).blink()
				return c.neutral(3).obs
			},
			status: challenge.StatusSuccess,
			check: func(t *testing.T, obs []challenge.Observation, r challenge.Result) {
				assert.Zero(t, r.Planarity.Pairs)
				sim, _, ok := challenge.PlanarResiduals(obs[0].Landmarks, obs[3].Landmarks)
				require.True(t, ok)
				cfg := challenge.DefaultConfig()
				assert.GreaterOrEqual(t, sim, cfg.PlanarMinMotion, "the still motion would have been tested before")
				assert.Less(t, sim, cfg.PlanarStillMotion)
			},
		},
		{
			name:    "blink with a photo turned well",
			actions: []challenge.Action{challenge.Blink},
			obs: func() []challenge.Observation {
				c := newCapture(true).neutral(3)
				c.add(40, 0, 0.95).add(40, 0, 0.95).blink()
				return c.neutral(3).obs
			},
			status: challenge.StatusSpoof,
			diag:   "planar motion",
		},
		{
			name:    "photo moved like the challenges",
			actions: tlBlinkUp,
			obs:     func() []challenge.Observation { return performing(true, tlBlinkUp...).obs },
			status:  challenge.StatusSpoof,
			diag:    "planar motion",
			check: func(t *testing.T, _ []challenge.Observation, r challenge.Result) {
				assert.True(t, r.Planarity.Planar)
				assert.Equal(t, 3, r.Planarity.Pairs)
				assert.GreaterOrEqual(t, r.Planarity.Similarity, 0.04)
				assert.Less(t, r.Planarity.Homography, 1e-6)
			},
		},
		{
			name:    "photo whose pose steps were met",
			actions: []challenge.Action{challenge.TurnLeft},
			obs:     func() []challenge.Observation { return performing(true, challenge.TurnLeft).obs },
			// The flat face's geometry does not turn: lower the bar so the
			// step is met and the peak frame is tested.
			cfg:    func(c *challenge.Config) { c.GeomTurn = 0.02 },
			status: challenge.StatusSpoof,
			diag:   "planar motion",
			check: func(t *testing.T, obs []challenge.Observation, r challenge.Result) {
				require.True(t, r.Steps[0].Met)
				assert.Equal(t, []int{r.Steps[0].Peak}, r.Planarity.Frames)
			},
		},
		{
			name:    "photo held still is no planar evidence",
			actions: []challenge.Action{challenge.TurnLeft},
			obs:     func() []challenge.Observation { return newCapture(true).neutral(12).obs },
			status:  challenge.StatusFailed,
			diag:    "challenge TURN_LEFT not performed",
			check: func(t *testing.T, _ []challenge.Observation, r challenge.Result) {
				assert.Zero(t, r.Planarity.Pairs)
				assert.False(t, r.Planarity.Planar)
			},
		},
		{
			name:    "passive liveness",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				c := newCapture(false)
				c.live = -1.5
				c.neutral(3)
				for _, a := range tlBlinkUp {
					c.perform(a).neutral(2)
				}
				return c.obs
			},
			cfg:    func(c *challenge.Config) { c.LiveThreshold = 0 },
			status: challenge.StatusSpoof,
			diag:   "passive liveness",
			check: func(t *testing.T, obs []challenge.Observation, r challenge.Result) {
				assert.Equal(t, -1.5, r.LiveMedian)
				assert.Equal(t, len(obs), r.LiveFrames)
			},
		},
		{
			name:    "passive median ignores a few low frames",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				obs := performing(false, tlBlinkUp...).obs
				for i := 0; i < len(obs); i += 4 {
					obs[i].Live = -8
				}
				return obs
			},
			cfg:    func(c *challenge.Config) { c.LiveThreshold = 0 },
			status: challenge.StatusSuccess,
		},
		{
			name:    "no passive scores",
			actions: tlBlinkUp,
			obs:     unscored,
			cfg:     func(c *challenge.Config) { c.LiveThreshold = 0 },
			status:  challenge.StatusFailed,
			diag:    "passive liveness not measured",
			check: func(t *testing.T, _ []challenge.Observation, r challenge.Result) {
				assert.True(t, math.IsNaN(r.LiveMedian))
				assert.Zero(t, r.LiveFrames)
			},
		},
		{
			name:    "no pair to test for planar motion",
			actions: tlBlinkUp,
			obs:     func() []challenge.Observation { return performing(false, tlBlinkUp...).obs },
			cfg:     func(c *challenge.Config) { c.PlanarMinMotion = 10 },
			status:  challenge.StatusFailed,
			diag:    "no head movement to test",
		},
		{
			name:    "no passive scores and no threshold",
			actions: tlBlinkUp,
			obs:     unscored,
			status:  challenge.StatusSuccess,
		},
		{
			name:    "no face",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				obs := make([]challenge.Observation, 10)
				for i := range obs {
					obs[i] = challenge.Observation{Time: time.Duration(i) * 100 * time.Millisecond, Live: math.NaN()}
				}
				return obs
			},
			cfg:    func(c *challenge.Config) { c.Timeout = 100 * time.Millisecond },
			status: challenge.StatusError,
			diag:   "no face",
			check: func(t *testing.T, _ []challenge.Observation, r challenge.Result) {
				assert.Equal(t, -1, r.BestFrame)
				assert.Len(t, r.Steps, 3)
			},
		},
		{
			name:    "no frames",
			actions: tlBlinkUp,
			obs:     func() []challenge.Observation { return nil },
			status:  challenge.StatusError,
			diag:    "no frames",
		},
		{
			name:   "no challenge",
			obs:    func() []challenge.Observation { return performing(false).obs },
			status: challenge.StatusError,
			diag:   "no challenge",
		},
		{
			name:    "unknown action",
			actions: []challenge.Action{challenge.Blink, "SMILE"},
			obs:     func() []challenge.Observation { return performing(false, challenge.Blink).obs },
			status:  challenge.StatusError,
			diag:    `unknown action "SMILE"`,
		},
		{
			name:    "timestamps not increasing",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				obs := performing(false, tlBlinkUp...).obs
				obs[7].Time = obs[6].Time
				return obs
			},
			status: challenge.StatusFailed,
			diag:   "timestamps not increasing",
		},
		{
			name:    "timeout before spoof",
			actions: tlBlinkUp,
			obs:     func() []challenge.Observation { return performing(true, tlBlinkUp...).obs },
			cfg:     func(c *challenge.Config) { c.Timeout = time.Second },
			status:  challenge.StatusTimeout,
			diag:    "timeout",
		},
		{
			name:    "spoof before failure",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				obs := performing(true, tlBlinkUp...).obs
				obs[3].Faces = 2
				return obs[:len(obs)-1]
			},
			status: challenge.StatusSpoof,
			diag:   "planar motion",
		},
		{
			name:    "best frame: neutral, then quality",
			actions: tlBlinkUp,
			obs: func() []challenge.Observation {
				obs := performing(false, tlBlinkUp...).obs
				obs[0].Yaw, obs[0].Quality = 15, 100 // not neutral
				obs[2].Quality = 90
				obs[6].Quality = 100 // turned 35 degrees: not neutral
				obs[1].Faces, obs[1].Quality = 2, 100
				return obs
			},
			status: challenge.StatusFailed,
			diag:   "multiple faces",
			check: func(t *testing.T, _ []challenge.Observation, r challenge.Result) {
				assert.Equal(t, 2, r.BestFrame)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := challenge.DefaultConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			obs := tt.obs()
			r := challenge.Analyze(tt.actions, obs, cfg)
			assert.Equal(t, tt.status, r.Status, r.Diagnostic)
			assert.Equal(t, tt.diag, r.Diagnostic)
			require.Len(t, r.Steps, len(tt.actions))
			if tt.check != nil {
				tt.check(t, obs, r)
			}
		})
	}
}

// Any drawn challenge performed as asked succeeds; performed by a
// photograph it is a spoof.
func TestAnalyzeDrawn(t *testing.T) {
	for seed := uint64(0); seed < 40; seed++ {
		n := 1 + int(seed%challenge.MaxChallenges)
		actions, err := challenge.Draw(seed, n)
		require.NoError(t, err)
		r := challenge.Analyze(actions, performing(false, actions...).obs, challenge.DefaultConfig())
		assert.Equal(t, challenge.StatusSuccess, r.Status, "%v: %s", actions, r.Diagnostic)

		hasPose := false
		for _, a := range actions {
			hasPose = hasPose || a != challenge.Blink
		}
		if hasPose {
			r = challenge.Analyze(actions, performing(true, actions...).obs, challenge.DefaultConfig())
			assert.Equal(t, challenge.StatusSpoof, r.Status, "%v: %s", actions, r.Diagnostic)
		}
	}
}
