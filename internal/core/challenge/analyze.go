package challenge

import (
	"fmt"
	"math"
	"time"

	"github.com/facelambda/facelambda/internal/ml/geometry"
)

// Observation is what was measured on one frame of the capture.
type Observation struct {
	// Time is the frame's time since the capture's first frame (client
	// timestamps).
	Time time.Duration
	// Faces is the number of faces found in the frame (0: none). The other
	// fields describe the subject's face and mean something only when
	// Faces >= 1.
	Faces int
	// Yaw, Pitch and Roll are the pose model's angles in degrees: Yaw > 0
	// when the subject turned to their left (the nose moves to the image's
	// right in an unmirrored frame), Pitch > 0 when looking up. They are
	// used only when PoseAvailable is set.
	Yaw, Pitch, Roll float64
	PoseAvailable    bool
	// LeftEyeOpen and RightEyeOpen are probabilities in [0, 1]; -1 when
	// unknown.
	LeftEyeOpen, RightEyeOpen float64
	// Landmarks are the 68 iBUG/dlib points in image pixels (0-16 jaw,
	// 17-26 brows, 27-35 nose with 30 the tip, 36-47 eyes, 48-67 mouth);
	// may be nil.
	Landmarks []geometry.Point
	// Embedding is the face's L2-normalised embedding; may be nil.
	Embedding []float32
	// Live is the passive liveness model's live log-odds; NaN when the
	// frame was not scored.
	Live float64
	// Quality is the capture quality, 0-100.
	Quality int
}

// Config holds Analyze's thresholds. DefaultConfig gives the defaults;
// LiveThreshold and Timeout are for the caller to set.
type Config struct {
	// Turn is the pose model's yaw in degrees a turn must reach; it also
	// bounds |yaw| and |pitch| during a blink.
	Turn float64
	// Tilt is the pose model's pitch in degrees a look up or down must reach.
	Tilt float64
	// Neutral bounds |yaw| and |pitch| in degrees of a frame facing the
	// camera.
	Neutral float64
	// GeomTurn is the GeometryYaw a turn must reach. The default, 0.30, is
	// above 95% of frontal faces' cue on LFW and below 75% of turned
	// heads' (`facelambda eval active` reports the cue quantiles): the
	// geometry confirms the pose model rather than repeat its noise.
	GeomTurn float64
	// GeomTilt is the GeometryPitch (less GeomPitchZero) a look up or down
	// must reach (default 0.20, from the same measure).
	GeomTilt float64
	// GeomProfile is the GeometryYaw beyond which the head is near
	// profile: the nose tip is past the outline's middle by well over
	// GeomTurn (the default, 0.60, is twice GeomTurn; 95% of LFW's frontal
	// faces are below 0.31 and the median of heads turned 20+ degrees is
	// 0.48). The pose model and the face encoder are trained on
	// faces up to about 45 degrees and read such frames at random (yaw
	// flipping sign between frames, embeddings of another person), so a
	// turn the geometry shows this far counts without the pose model, and
	// these frames are left out of the identity check.
	GeomProfile float64
	// GeomPitchZero is GeometryPitch on a frontal face of the population
	// (the LFW median, 0.075), subtracted before comparing with GeomTilt.
	GeomPitchZero float64
	// EyeOpen is the probability from which an eye counts as open.
	EyeOpen float64
	// EyeClosed is the probability up to which an eye counts as closed.
	EyeClosed float64
	// SameCosine is the lowest cosine between a face frame's embedding and
	// the best frame's for the same person. The face changed when two
	// consecutive comparable face frames are both below it, or more than
	// one in ten (and more than one) are: an odd frame now and then (a hand
	// crossing the face, motion blur) does not fail the capture.
	SameCosine float64
	// MaxGap is the longest time allowed between consecutive frames
	// (0: no limit).
	MaxGap time.Duration
	// MinFrames is the fewest frames of a capture.
	MinFrames int
	// MaxMissing is the largest fraction of frames allowed without a face.
	MaxMissing float64
	// PlanarMinMotion is the similarity residual (fraction of the inter-eye
	// distance) from which a pair of frames shows out-of-plane motion.
	PlanarMinMotion float64
	// PlanarStillMotion is PlanarMinMotion for a capture where no head
	// move was asked (blinks only): the frames compared are then the ones
	// furthest from a similarity of the best frame, which on a nearly
	// still head is expression and landmark noise (about 0.02-0.05), where
	// a homography fits a real face as well as a photo. Only motion above
	// this is tested.
	PlanarStillMotion float64
	// PlanarMaxResidual is the homography residual (fraction of the
	// inter-eye distance) up to which a pair of frames moved like a plane.
	// The default, 0.035, is measured by `facelambda eval planarity`: on
	// LFW it calls 1.2% of real head-pose pairs planar and catches 87% of
	// photos turned in front of the camera (docs/accuracy.md).
	PlanarMaxResidual float64
	// LiveThreshold is the lowest median passive live log-odds; -Inf
	// disables the check.
	LiveThreshold float64
	// Timeout is the longest capture (0: no limit).
	Timeout time.Duration
	// RestFrames is how many steady face frames, the first of the capture,
	// give the subject's resting pose (0: poses are absolute). Turns, looks
	// and the neutral pose are measured from it.
	RestFrames int
	// RestSteady is the largest change of yaw and pitch (degrees) between
	// consecutive face frames for a frame to count as steady.
	RestSteady float64
	// RestMaxYaw and RestMaxPitch bound the resting pose (degrees): a
	// subject at rest further off frontal is taken at these bounds, so a
	// move must still reach far from frontal.
	RestMaxYaw, RestMaxPitch float64
	// EyeBaselineQuantile is the quantile of each eye's landmark aspect
	// ratio, over the frames within Turn of the rest pose, taken as the
	// subject's open eye.
	EyeBaselineQuantile float64
	// EyeOpenRatio and EyeClosedRatio are the fractions of that baseline
	// from which an eye counts as open, and up to which as closed (closed
	// also needs the eye model not to read both eyes open).
	EyeOpenRatio, EyeClosedRatio float64
	// EyeAgreeRatio is the fraction of the baseline up to which eyes the
	// eye model reads closed count as closed, for a subject whose open eyes
	// the model sees (EyeBaseline.ModelAgrees).
	EyeAgreeRatio float64
	// StrictOrder fails a capture where a pose action is performed before
	// its turn.
	StrictOrder bool
	// OutOfTurnFrames is how many consecutive face frames must show
	// another pose action for a wrong order (default 2): a head swinging
	// from one turn to the other passes through a raised or lowered chin,
	// often on one blurred frame; a replayed video's moves last longer.
	OutOfTurnFrames int
}

// DefaultConfig returns the default thresholds; the geometry cues' are
// measured on LFW photos (see Config), the others are design choices.
func DefaultConfig() Config {
	return Config{
		Turn:              20,
		Tilt:              12,
		Neutral:           10,
		GeomTurn:          0.30,
		GeomTilt:          0.20,
		GeomPitchZero:     0.075,
		GeomProfile:       0.60,
		EyeOpen:           0.6,
		EyeClosed:         0.3,
		SameCosine:        0.4,
		MaxGap:            700 * time.Millisecond,
		MinFrames:         5,
		MaxMissing:        0.25,
		PlanarMinMotion:   0.04,
		PlanarStillMotion: 0.08,
		PlanarMaxResidual: 0.035,
		LiveThreshold:     math.Inf(-1),
		StrictOrder:       true,
		OutOfTurnFrames:   2,

		RestFrames:          5,
		RestSteady:          4,
		RestMaxYaw:          12,
		RestMaxPitch:        20,
		EyeBaselineQuantile: 0.8,
		EyeOpenRatio:        0.7,
		EyeClosedRatio:      0.4,
		EyeAgreeRatio:       0.8,
	}
}

// Status is Analyze's verdict.
type Status string

// The verdicts.
const (
	// StatusSuccess: the challenges were performed by a live face.
	StatusSuccess Status = "SUCCESS"
	// StatusFailed: the capture does not prove liveness (a challenge not
	// performed, bad capture); the user may retry.
	StatusFailed Status = "FAILED"
	// StatusSpoof: the capture shows a presentation attack.
	StatusSpoof Status = "SPOOF"
	// StatusError: the input cannot be judged.
	StatusError Status = "ERROR"
	// StatusTimeout: the capture took too long.
	StatusTimeout Status = "TIMEOUT"
)

// Valid reports whether s is one of the verdicts.
func (s Status) Valid() bool {
	switch s {
	case StatusSuccess, StatusFailed, StatusSpoof, StatusError, StatusTimeout:
		return true
	}
	return false
}

// Step is the outcome of one challenge.
type Step struct {
	Action Action
	Met    bool
	// Frame is the index of the frame where the action was met (-1 if not).
	Frame int
	// At is that frame's time.
	At time.Duration
	// Peak is, for a pose action met, the frame of largest deviation in the
	// action's direction before the subject came back to neutral (-1
	// otherwise).
	Peak int
}

// Planarity is the planar motion test's measure.
type Planarity struct {
	// Pairs is the number of (best frame, other frame) pairs that showed
	// out-of-plane motion and were tested.
	Pairs int
	// Frames are the other frames of the pairs tested.
	Frames []int
	// Similarity and Homography are the largest residuals over the tested
	// pairs, fractions of the inter-eye distance.
	Similarity, Homography float64
	// Planar is set when at least one pair was tested and every one moved
	// like a plane.
	Planar bool
}

// Result is Analyze's report.
type Result struct {
	Status Status
	// Diagnostic is the short reason of a verdict other than SUCCESS.
	Diagnostic string
	// Steps has one entry per challenge, in order.
	Steps []Step
	// BestFrame is the index of the best frame for a face image (-1: none).
	BestFrame int
	// MinCosine is the identity measure: the lowest cosine to the best
	// frame's embedding held by two consecutive face frames, frames near
	// profile left out (see Config.SameCosine and GeomProfile; 1 when no
	// embeddings were compared).
	MinCosine float64
	Planarity Planarity
	// LiveMedian is the median passive live log-odds over the LiveFrames
	// scored frames (NaN when none).
	LiveMedian float64
	LiveFrames int
	// Duration is the last frame's time minus the first's.
	Duration time.Duration
	// Rest is the subject's resting pose the moves were measured from.
	Rest Rest
	// Eyes is the subject's open-eye baseline (zero: the eye model alone
	// judged the eyes).
	Eyes EyeBaseline
}

// Analyze judges a capture of the subject performing actions, in order,
// from the per-frame observations obs (in capture order). The package
// documentation gives the rules.
func Analyze(actions []Action, obs []Observation, cfg Config) Result {
	res := Result{BestFrame: -1, MinCosine: 1, LiveMedian: math.NaN()}
	res.Steps = make([]Step, len(actions))
	for i, a := range actions {
		res.Steps[i] = Step{Action: a, Frame: -1, Peak: -1}
	}
	if len(obs) == 0 {
		return res.verdict(StatusError, "no frames")
	}
	if len(actions) == 0 {
		return res.verdict(StatusError, "no challenge")
	}
	for _, a := range actions {
		if !a.valid() {
			return res.verdict(StatusError, fmt.Sprintf("unknown action %q", string(a)))
		}
	}
	res.Duration = obs[len(obs)-1].Time - obs[0].Time

	c := make([]cues, len(obs))
	faces := 0
	for i := range obs {
		c[i] = measure(&obs[i], cfg)
		if c[i].face {
			faces++
		}
	}
	if faces == 0 {
		return res.verdict(StatusError, "no face")
	}
	res.Rest = restPose(c, cfg)
	for i := range c {
		c[i].relativeTo(res.Rest)
		c[i].distrustProfile(cfg)
	}
	res.Eyes = eyeBaseline(c, cfg)
	for i := range c {
		c[i].judgeEyes(res.Eyes, cfg)
	}

	wrongOrder := runChallenges(actions, c, cfg, res.Steps)
	res.BestFrame = bestFrame(obs, c, cfg)
	res.MinCosine = minCosine(obs, c, res.BestFrame, cfg)
	res.Planarity = planarity(obs, c, res.BestFrame, actions, res.Steps, cfg)
	res.LiveMedian, res.LiveFrames = liveMedian(obs, c)

	if cfg.Timeout > 0 && res.Duration > cfg.Timeout {
		return res.verdict(StatusTimeout, "timeout")
	}
	if res.Planarity.Planar {
		return res.verdict(StatusSpoof, "planar motion")
	}
	if res.LiveFrames > 0 && res.LiveMedian < cfg.LiveThreshold {
		return res.verdict(StatusSpoof, "passive liveness")
	}
	if d := captureProblem(obs, cfg, faces); d != "" {
		return res.verdict(StatusFailed, d)
	}
	if res.MinCosine < cfg.SameCosine {
		return res.verdict(StatusFailed, "face changed")
	}
	if wrongOrder {
		return res.verdict(StatusFailed, "wrong challenge order")
	}
	for _, s := range res.Steps {
		if !s.Met {
			return res.verdict(StatusFailed, fmt.Sprintf("challenge %s not performed", s.Action))
		}
	}
	// The checks must have tested something: a capture whose head turns
	// left no pair to test for planar motion, or with no frame scored by
	// the passive model while a threshold is set, proves nothing (fail
	// closed).
	if hasPose(actions) && res.Planarity.Pairs == 0 {
		return res.verdict(StatusFailed, "no head movement to test")
	}
	if !math.IsInf(cfg.LiveThreshold, -1) && res.LiveFrames == 0 {
		return res.verdict(StatusFailed, "passive liveness not measured")
	}
	return res.verdict(StatusSuccess, "")
}

// hasPose reports whether the actions include a head movement.
func hasPose(actions []Action) bool {
	for _, a := range actions {
		if a.pose() {
			return true
		}
	}
	return false
}

func (r Result) verdict(s Status, diagnostic string) Result {
	r.Status, r.Diagnostic = s, diagnostic
	return r
}

// captureProblem returns the diagnostic of the first failed capture check
// (time order, frame count, gaps, extra faces, missing faces), or "".
func captureProblem(obs []Observation, cfg Config, faces int) string {
	for i := 1; i < len(obs); i++ {
		if obs[i].Time <= obs[i-1].Time {
			return "timestamps not increasing"
		}
	}
	if len(obs) < cfg.MinFrames {
		return "too few frames"
	}
	if cfg.MaxGap > 0 {
		for i := 1; i < len(obs); i++ {
			if obs[i].Time-obs[i-1].Time > cfg.MaxGap {
				return "frames too far apart"
			}
		}
	}
	for i := range obs {
		if obs[i].Faces > 1 {
			return "multiple faces"
		}
	}
	if missing := float64(len(obs)-faces) / float64(len(obs)); missing > cfg.MaxMissing {
		return "face not visible"
	}
	return ""
}
