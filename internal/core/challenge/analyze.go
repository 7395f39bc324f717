package challenge

import (
	"fmt"
	"math"
	"slices"
	"sort"
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
	// GeomPitchZero is GeometryPitch on a frontal face of the population
	// (the LFW median, 0.075), subtracted before comparing with GeomTilt.
	GeomPitchZero float64
	// EyeOpen is the probability from which an eye counts as open.
	EyeOpen float64
	// EyeClosed is the probability up to which an eye counts as closed.
	EyeClosed float64
	// SameCosine is the lowest cosine between a face frame's embedding and
	// the best frame's for the same person.
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
	// StrictOrder fails a capture where a pose action is performed before
	// its turn.
	StrictOrder bool
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
		EyeOpen:           0.6,
		EyeClosed:         0.3,
		SameCosine:        0.4,
		MaxGap:            700 * time.Millisecond,
		MinFrames:         5,
		MaxMissing:        0.25,
		PlanarMinMotion:   0.04,
		PlanarMaxResidual: 0.035,
		LiveThreshold:     math.Inf(-1),
		StrictOrder:       true,
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
	// MinCosine is the lowest cosine of a face frame's embedding to the best
	// frame's (1 when fewer than two embeddings were compared).
	MinCosine float64
	Planarity Planarity
	// LiveMedian is the median passive live log-odds over the LiveFrames
	// scored frames (NaN when none).
	LiveMedian float64
	LiveFrames int
	// Duration is the last frame's time minus the first's.
	Duration time.Duration
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

	wrongOrder := runChallenges(actions, c, cfg, res.Steps)
	res.BestFrame = bestFrame(obs, c, cfg)
	res.MinCosine = minCosine(obs, c, res.BestFrame)
	res.Planarity = planarity(obs, c, res.BestFrame, res.Steps, cfg)
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

// cues is what the state machine reads from one frame.
type cues struct {
	face       bool          // Faces >= 1
	at         time.Duration // the frame's time
	pose       bool          // the pose model's angles are available
	yaw, pitch float64       // pose model, degrees
	geom       bool          // the landmark cues are available
	gYaw       float64       // GeometryYaw
	gPitch     float64       // GeometryPitch - GeomPitchZero
	eyesKnown  bool          // both eye probabilities known
	open       bool          // both eyes open
	closed     bool          // both eyes closed
}

func measure(o *Observation, cfg Config) cues {
	if o.Faces < 1 {
		return cues{}
	}
	c := cues{face: true, at: o.Time, pose: o.PoseAvailable, yaw: o.Yaw, pitch: o.Pitch}
	gy, okY := GeometryYaw(o.Landmarks)
	gp, okP := GeometryPitch(o.Landmarks)
	c.geom = okY && okP
	c.gYaw, c.gPitch = gy, gp-cfg.GeomPitchZero
	l, r := o.LeftEyeOpen, o.RightEyeOpen
	c.eyesKnown = l >= 0 && l <= 1 && r >= 0 && r <= 1
	c.open = c.eyesKnown && l >= cfg.EyeOpen && r >= cfg.EyeOpen
	c.closed = c.eyesKnown && l <= cfg.EyeClosed && r <= cfg.EyeClosed
	return c
}

// geomYaw and geomPitch convert an angle threshold in degrees to the
// geometry cues' scale.
func geomYaw(cfg Config, deg float64) float64 {
	if cfg.Turn > 0 {
		return cfg.GeomTurn * deg / cfg.Turn
	}
	return cfg.GeomTurn
}

func geomPitch(cfg Config, deg float64) float64 {
	if cfg.Tilt > 0 {
		return cfg.GeomTilt * deg / cfg.Tilt
	}
	return cfg.GeomTilt
}

// within reports whether the head is within deg degrees of frontal, in yaw
// and in pitch: by the pose model when available, else by the geometry.
func (c cues) within(cfg Config, deg float64) bool {
	switch {
	case c.pose:
		return math.Abs(c.yaw) < deg && math.Abs(c.pitch) < deg
	case c.geom:
		return math.Abs(c.gYaw) < geomYaw(cfg, deg) && math.Abs(c.gPitch) < geomPitch(cfg, deg)
	}
	return false
}

// neutral: facing the camera with the eyes open when known.
func (c cues) neutral(cfg Config) bool {
	return c.face && c.within(cfg, cfg.Neutral) && (!c.eyesKnown || c.open)
}

// performs reports whether the frame shows the pose action a: the pose
// model (when available) and the geometry agree.
func (c cues) performs(cfg Config, a Action) bool {
	if !c.face || !c.geom {
		return false
	}
	switch a {
	case TurnLeft:
		return (!c.pose || c.yaw >= cfg.Turn) && c.gYaw >= cfg.GeomTurn
	case TurnRight:
		return (!c.pose || c.yaw <= -cfg.Turn) && c.gYaw <= -cfg.GeomTurn
	case LookUp:
		return (!c.pose || c.pitch >= cfg.Tilt) && c.gPitch >= cfg.GeomTilt
	case LookDown:
		return (!c.pose || c.pitch <= -cfg.Tilt) && c.gPitch <= -cfg.GeomTilt
	}
	return false
}

// deviation is how far the head is turned in the direction of the pose
// action a, in degrees (geometry converted when the pose is unavailable).
func (c cues) deviation(cfg Config, a Action) float64 {
	yaw, pitch := c.yaw, c.pitch
	if !c.pose {
		yaw, pitch = c.gYaw*cfg.Turn/cfg.GeomTurn, c.gPitch*cfg.Tilt/cfg.GeomTilt
	}
	var d float64
	switch a {
	case TurnLeft:
		d = yaw
	case TurnRight:
		d = -yaw
	case LookUp:
		d = pitch
	case LookDown:
		d = -pitch
	}
	if math.IsNaN(d) {
		return math.Inf(-1)
	}
	return d
}

// offAxis is |yaw| + |pitch| in degrees (+Inf when unknown).
func (c cues) offAxis(cfg Config) float64 {
	d := math.Inf(1)
	switch {
	case c.pose:
		d = math.Abs(c.yaw) + math.Abs(c.pitch)
	case c.geom:
		d = math.Abs(c.gYaw*cfg.Turn/cfg.GeomTurn) + math.Abs(c.gPitch*cfg.Tilt/cfg.GeomTilt)
	}
	if math.IsNaN(d) {
		return math.Inf(1)
	}
	return d
}

// runChallenges runs the state machine over the face frames, filling steps,
// and reports whether a pose action was performed out of turn (only with
// cfg.StrictOrder).
func runChallenges(actions []Action, c []cues, cfg Config, steps []Step) (wrongOrder bool) {
	k := 0         // the action awaited
	armed := false // a neutral frame was seen since the last action
	blink := 0     // blink progress: 1 open seen, 2 then closed seen
	peakStep := -1 // the pose step whose peak is being tracked
	peakDev := 0.0 // its deviation so far
	for i := range c {
		f := c[i]
		if !f.face {
			continue
		}
		if peakStep >= 0 && !armed {
			if d := f.deviation(cfg, actions[peakStep]); d > peakDev {
				steps[peakStep].Peak, peakDev = i, d
			}
		}
		if !armed {
			if !f.neutral(cfg) {
				continue
			}
			armed, blink, peakStep = true, 0, -1
		}
		if k >= len(actions) {
			continue
		}
		want := actions[k]
		if want.pose() && f.performs(cfg, want) {
			steps[k].Met, steps[k].Frame, steps[k].At = true, i, f.at
			steps[k].Peak, peakStep, peakDev = i, k, f.deviation(cfg, want)
			k, armed = k+1, false
			continue
		}
		if cfg.StrictOrder && performsOther(f, cfg, want) {
			wrongOrder, armed = true, false
			continue
		}
		if want != Blink {
			continue
		}
		if !f.eyesKnown || !f.within(cfg, cfg.Turn) {
			blink = 0
			continue
		}
		switch {
		case blink == 0 && f.open:
			blink = 1
		case blink == 1 && f.closed:
			blink = 2
		case blink == 2 && f.open:
			steps[k].Met, steps[k].Frame, steps[k].At = true, i, f.at
			k, armed = k+1, false
		}
	}
	return wrongOrder
}

// performsOther reports whether the frame shows a pose action other than
// want.
func performsOther(f cues, cfg Config, want Action) bool {
	for _, a := range Actions {
		if a != want && a.pose() && f.performs(cfg, a) {
			return true
		}
	}
	return false
}

// bestFrame picks the frame for a face image among those with exactly one
// face: neutral first, then highest quality, then closest to frontal, then
// earliest.
func bestFrame(obs []Observation, c []cues, cfg Config) int {
	best := -1
	var bn bool
	var bq int
	var ba float64
	for i := range obs {
		if obs[i].Faces != 1 {
			continue
		}
		n, q, a := c[i].neutral(cfg), obs[i].Quality, c[i].offAxis(cfg)
		better := best < 0 ||
			(n && !bn) ||
			(n == bn && (q > bq || (q == bq && a < ba)))
		if better {
			best, bn, bq, ba = i, n, q, a
		}
	}
	return best
}

// minCosine is the lowest cosine of a face frame's embedding to the best
// frame's, over the embeddings that can be compared (1 when none).
func minCosine(obs []Observation, c []cues, best int) float64 {
	lowest := 1.0
	if best < 0 {
		return lowest
	}
	ref := obs[best].Embedding
	for i := range obs {
		if i == best || !c[i].face {
			continue
		}
		if cos, ok := cosine(ref, obs[i].Embedding); ok && cos < lowest {
			lowest = cos
		}
	}
	return lowest
}

// cosine is the cosine of a and b; ok is false when they are empty, of
// different lengths, zero or not finite.
func cosine(a, b []float32) (float64, bool) {
	if len(a) == 0 || len(a) != len(b) {
		return 0, false
	}
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	cos := ab / math.Sqrt(aa*bb)
	if math.IsNaN(cos) || math.IsInf(cos, 0) {
		return 0, false
	}
	return cos, true
}

// maxPlanarCandidates is how many frames the planarity test takes when no
// pose step was met.
const maxPlanarCandidates = 3

// planarity tests the best frame's landmarks against the peak frame of each
// pose step met or, failing those, against the frames furthest from a
// similarity of them.
func planarity(obs []Observation, c []cues, best int, steps []Step, cfg Config) Planarity {
	var p Planarity
	if best < 0 {
		return p
	}
	ref := obs[best].Landmarks
	var frames []int
	for _, s := range steps {
		if s.Met && s.Action.pose() && s.Peak >= 0 && s.Peak != best && !slices.Contains(frames, s.Peak) {
			frames = append(frames, s.Peak)
		}
	}
	if len(frames) == 0 {
		type cand struct {
			i   int
			res float64
		}
		var cands []cand
		for i := range obs {
			if i == best || !c[i].face {
				continue
			}
			if r, _, ok := similarityResidual(ref, obs[i].Landmarks); ok {
				cands = append(cands, cand{i, r})
			}
		}
		sort.SliceStable(cands, func(a, b int) bool { return cands[a].res > cands[b].res })
		for j := 0; j < len(cands) && j < maxPlanarCandidates; j++ {
			frames = append(frames, cands[j].i)
		}
	}
	planar := true
	for _, i := range frames {
		sim, hom, ok := PlanarResiduals(ref, obs[i].Landmarks)
		if !ok || sim < cfg.PlanarMinMotion {
			continue
		}
		p.Pairs++
		p.Frames = append(p.Frames, i)
		p.Similarity = math.Max(p.Similarity, sim)
		p.Homography = math.Max(p.Homography, hom)
		if !(hom <= cfg.PlanarMaxResidual) {
			planar = false
		}
	}
	p.Planar = p.Pairs > 0 && planar
	return p
}

// liveMedian is the median of the face frames' passive scores, NaN
// excluded, with their number.
func liveMedian(obs []Observation, c []cues) (float64, int) {
	var v []float64
	for i := range obs {
		if c[i].face && !math.IsNaN(obs[i].Live) {
			v = append(v, obs[i].Live)
		}
	}
	if len(v) == 0 {
		return math.NaN(), 0
	}
	sort.Float64s(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m], len(v)
	}
	// Halves first: no overflow; -Inf and +Inf in the middle give NaN, and
	// their median is taken as 0.
	mid := v[m-1]/2 + v[m]/2
	if math.IsNaN(mid) {
		mid = 0
	}
	return mid, len(v)
}

// Performs reports whether one frame shows the pose action a by the test
// Analyze applies (the pose model and the landmark geometry agree); with a
// = "" whether it faces the camera with the eyes open (when known). For
// measurement tools.
func Performs(o Observation, cfg Config, a Action) bool {
	c := measure(&o, cfg)
	if a == "" {
		return c.neutral(cfg)
	}
	return c.performs(cfg, a)
}
