package challenge

import (
	"math"
	"time"

	"github.com/facelambda/facelambda/internal/ml/geometry"
)

// NumLandmarks is the number of points of the iBUG/dlib 68-point markup.
const NumLandmarks = 68

// NeutralNoseRatio is where the nose tip (point 30) lies between the eye line
// and the chin (point 8) on a frontal face, as a fraction of that distance:
// the value of dlib's mean 68-point shape. GeometryPitch is 0 there.
const NeutralNoseRatio = 0.31

// Landmark indices of the 68-point markup used here.
const (
	lmChin    = 8
	lmNoseTip = 30
	lmEyes    = 36 // 36-41 and 42-47: the eye contours
	lmMouth   = 48 // 48-67: the mouth, which moves with expression
)

// jawPairs are symmetric points of the face outline (image left, image
// right), averaged to locate its sides.
var jawPairs = [][2]int{{0, 16}, {1, 15}, {2, 14}}

// eyeCentres returns the means of points 36-41 and 42-47 (the eye on the
// image's left first on an upright face). lm must hold at least 48 points.
func eyeCentres(lm []geometry.Point) (a, b geometry.Point) {
	for i := 0; i < 6; i++ {
		a.X += lm[lmEyes+i].X
		a.Y += lm[lmEyes+i].Y
		b.X += lm[lmEyes+6+i].X
		b.Y += lm[lmEyes+6+i].Y
	}
	return geometry.Point{X: a.X / 6, Y: a.Y / 6}, geometry.Point{X: b.X / 6, Y: b.Y / 6}
}

// levelled returns the 68 landmarks rotated about the eyes' midpoint so that
// the eye line is horizontal, the midpoint at the origin; ok is false for
// fewer than 68 points, non-finite values, or coincident eyes.
func levelled(lm []geometry.Point) ([]geometry.Point, bool) {
	if len(lm) < NumLandmarks {
		return nil, false
	}
	for _, p := range lm[:NumLandmarks] {
		if math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
			return nil, false
		}
	}
	a, b := eyeCentres(lm)
	dx, dy := b.X-a.X, b.Y-a.Y
	d := math.Hypot(dx, dy)
	if !(d > 1e-9) || math.IsInf(d, 0) {
		return nil, false
	}
	c, s := dx/d, dy/d // rotate by minus the eye line's angle
	mx, my := (a.X+b.X)/2, (a.Y+b.Y)/2
	out := make([]geometry.Point, NumLandmarks)
	for i, p := range lm[:NumLandmarks] {
		x, y := p.X-mx, p.Y-my
		out[i] = geometry.Point{X: c*x + s*y, Y: -s*x + c*y}
	}
	return out, true
}

// GeometryYaw is a yaw cue read from the 68 landmarks alone, in about
// [-1, 1]: where the nose tip lies between the sides of the face outline,
// 0 in the middle, > 0 towards the image's right, which in an unmirrored
// camera frame is the subject turning to their left. The roll is removed
// first (the points are rotated so that the eye line is horizontal). ok is
// false when lm has fewer than 68 points or is degenerate.
func GeometryYaw(lm []geometry.Point) (float64, bool) {
	p, ok := levelled(lm)
	if !ok {
		return 0, false
	}
	var left, right float64
	for _, j := range jawPairs {
		left += p[j[0]].X
		right += p[j[1]].X
	}
	left /= float64(len(jawPairs))
	right /= float64(len(jawPairs))
	w := right - left
	if !(w > 1e-9) {
		return 0, false
	}
	return (2*p[lmNoseTip].X - left - right) / w, true
}

// GeometryPitch is a pitch cue read from the 68 landmarks alone, > 0 when
// the subject looks up: 1 - r/NeutralNoseRatio, where r is the nose tip's
// distance below the eye line as a fraction of the chin's (after removing
// the roll). Looking up raises the protruding nose tip towards the eyes, so
// r shrinks and the cue grows; it is 0 for dlib's mean face and in about
// [-1, 1]. Faces differ: Config.GeomPitchZero holds a population's offset.
// ok is false when lm has fewer than 68 points or is degenerate.
func GeometryPitch(lm []geometry.Point) (float64, bool) {
	p, ok := levelled(lm)
	if !ok {
		return 0, false
	}
	chin := p[lmChin].Y
	if !(chin > 1e-9) {
		return 0, false
	}
	return 1 - p[lmNoseTip].Y/chin/NeutralNoseRatio, true
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
	eyesKnown  bool          // both eyes' openness known
	open       bool          // both eyes open
	closed     bool          // both eyes closed
	modelL     float64       // eye model, left eye
	modelR     float64       // eye model, right eye
	earKnown   bool          // the landmark eye aspect ratios are available
	earL, earR float64       // landmark eye aspect ratios
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
	c.modelL, c.modelR = l, r
	c.earL, c.earR, c.earKnown = eyeRatios(o.Landmarks)
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

// profile reports whether the geometry shows the head near profile
// (|GeometryYaw| from the rest beyond Config.GeomProfile), where the pose
// model and the face encoder cannot be trusted.
func (c cues) profile(cfg Config) bool {
	return c.geom && cfg.GeomProfile > 0 && math.Abs(c.gYaw) >= cfg.GeomProfile
}

// distrustProfile drops the pose model's reading of a frame near profile,
// so that the geometry alone judges it as for a frame without a pose: no
// frame there faces the camera, a turn counts on the geometry and is
// measured by it.
func (c *cues) distrustProfile(cfg Config) {
	if c.profile(cfg) {
		c.pose = false
	}
}

// dominant reports whether a's axis is the frame's main movement: its
// landmark cue, in units of its threshold (GeomTurn for yaw, GeomTilt for
// pitch), at least the other axis'. A turn raises the pitch cue too (the
// nose tip drops towards the chin in the image as it turns) and a look
// comes with some turn, so a move on one axis is not read as a move on the
// other.
func (c cues) dominant(cfg Config, a Action) bool {
	if !c.geom || !(cfg.GeomTurn > 0) || !(cfg.GeomTilt > 0) {
		return true
	}
	y, p := math.Abs(c.gYaw)/cfg.GeomTurn, math.Abs(c.gPitch)/cfg.GeomTilt
	if a == TurnLeft || a == TurnRight {
		return y >= p
	}
	return p >= y
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

// Performs reports whether one frame shows the pose action a by the test
// Analyze applies (the pose model and the landmark geometry agree); with a
// = "" whether it faces the camera with the eyes open (when known). For
// measurement tools.
func Performs(o Observation, cfg Config, a Action) bool {
	return PerformsFrom(Observation{Faces: 0}, o, cfg, a)
}

// PerformsFrom is Performs with the pose measured from the subject's rest
// shown by the frame rest (as Analyze measures it from the rest pose; an
// absolute pose when rest shows no face).
func PerformsFrom(rest, o Observation, cfg Config, a Action) bool {
	c := measure(&o, cfg)
	if r := measure(&rest, cfg); r.face && r.geom {
		c.relativeTo(newRest(cfg, r.yaw, r.pitch, r.gYaw, r.gPitch, 1))
	}
	c.distrustProfile(cfg)
	if a == "" {
		return c.neutral(cfg)
	}
	return c.performs(cfg, a)
}
