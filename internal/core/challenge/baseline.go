package challenge

import (
	"math"
	"sort"

	"github.com/facelambda/facelambda/internal/ml/geometry"
)

// EyeAspectRatio is the eye aspect ratio of the eye contour p (6 points:
// outer corner, two upper-lid points, inner corner, two lower-lid points,
// as points 36-41 of the 68-point markup): the mean of the two lid
// distances over the corner distance. About 0.25-0.45 for an open eye, under
// 0.15 for a closed one; it does not change with scale or roll. ok is false
// for fewer than 6 points or a degenerate contour.
func EyeAspectRatio(p []geometry.Point) (float64, bool) {
	if len(p) < 6 {
		return 0, false
	}
	dist := func(a, b geometry.Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }
	w := dist(p[0], p[3])
	r := (dist(p[1], p[5]) + dist(p[2], p[4])) / (2 * w)
	if !(w > 1e-9) || math.IsNaN(r) || math.IsInf(r, 0) {
		return 0, false
	}
	return r, true
}

// eyeRatios returns the eye aspect ratios of both eyes of the 68 landmarks.
func eyeRatios(lm []geometry.Point) (l, r float64, ok bool) {
	if len(lm) < NumLandmarks {
		return 0, 0, false
	}
	l, okL := EyeAspectRatio(lm[lmEyes : lmEyes+6])
	r, okR := EyeAspectRatio(lm[lmEyes+6 : lmEyes+12])
	return l, r, okL && okR
}

// Rest is the subject's resting pose: the median of the first steady face
// frames (Config.RestFrames), clamped to Config.RestMaxYaw and RestMaxPitch.
// Pose actions and the neutral pose are judged relative to it, so a phone
// held below the face (pitch -15 at rest) or a camera to one side does not
// count as a look or a turn.
type Rest struct {
	// Yaw and Pitch are the pose model's resting angles (degrees).
	Yaw, Pitch float64
	// GYaw and GPitch are the landmark cues' (GeometryYaw, GeometryPitch
	// less Config.GeomPitchZero).
	GYaw, GPitch float64
	// Frames is the number of frames the rest was measured on (0: none,
	// the rest is frontal).
	Frames int
}

// RestPose measures the resting pose of a capture (see Rest) from the face
// frames c; a frame is steady when its pose differs by less than
// Config.RestSteady degrees from the next face frame's.
func restPose(c []cues, cfg Config) Rest {
	var yaw, pitch, gyaw, gpitch []float64
	prev := -1
	for i := range c {
		if !c[i].face || !c[i].geom {
			continue
		}
		if prev >= 0 && c[prev].steadyWith(c[i], cfg) {
			yaw, pitch = append(yaw, c[prev].yaw), append(pitch, c[prev].pitch)
			gyaw, gpitch = append(gyaw, c[prev].gYaw), append(gpitch, c[prev].gPitch)
			if len(yaw) >= cfg.RestFrames {
				break
			}
		}
		prev = i
	}
	if len(yaw) == 0 || cfg.RestFrames <= 0 {
		return Rest{}
	}
	return newRest(cfg, median(yaw), median(pitch), median(gyaw), median(gpitch), len(yaw))
}

// newRest is the rest at these angles and cues, clamped to the bounds of
// cfg, measured on n frames.
func newRest(cfg Config, yaw, pitch, gyaw, gpitch float64, n int) Rest {
	clamp := func(v, lim float64) float64 { return math.Max(-lim, math.Min(lim, v)) }
	return Rest{
		Yaw:    clamp(yaw, cfg.RestMaxYaw),
		Pitch:  clamp(pitch, cfg.RestMaxPitch),
		GYaw:   clamp(gyaw, geomYaw(cfg, cfg.RestMaxYaw)),
		GPitch: clamp(gpitch, geomPitch(cfg, cfg.RestMaxPitch)),
		Frames: n,
	}
}

// steadyWith reports whether the head barely moved between frames c and d.
func (c cues) steadyWith(d cues, cfg Config) bool {
	if c.pose != d.pose {
		return false
	}
	if c.pose {
		return math.Abs(c.yaw-d.yaw) < cfg.RestSteady && math.Abs(c.pitch-d.pitch) < cfg.RestSteady
	}
	return math.Abs(c.gYaw-d.gYaw) < geomYaw(cfg, cfg.RestSteady) &&
		math.Abs(c.gPitch-d.gPitch) < geomPitch(cfg, cfg.RestSteady)
}

// relativeTo makes c's pose relative to the rest r.
func (c *cues) relativeTo(r Rest) {
	c.yaw -= r.Yaw
	c.pitch -= r.Pitch
	c.gYaw -= r.GYaw
	c.gPitch -= r.GPitch
}

// EyeBaseline is the subject's open-eye aspect ratio per eye: the
// Config.EyeBaselineQuantile of the ratios over the face frames within
// Config.Neutral degrees of the rest pose (at least Config.MinFrames of
// them; else 0, unknown). ModelAgrees is set when the eye model reads both
// eyes open on at least half of those frames: it sees this subject's open
// eyes, so its closures can be trusted where the landmarks also narrow.
type EyeBaseline struct {
	Left, Right float64
	ModelAgrees bool
}

func eyeBaseline(c []cues, cfg Config) EyeBaseline {
	var l, r []float64
	modelOpen := 0
	for i := range c {
		if c[i].face && c[i].earKnown && c[i].within(cfg, cfg.Neutral) {
			l, r = append(l, c[i].earL), append(r, c[i].earR)
			if c[i].modelOpen(cfg) {
				modelOpen++
			}
		}
	}
	if len(l) < max(cfg.MinFrames, 1) {
		return EyeBaseline{}
	}
	return EyeBaseline{
		Left:        quantile(l, cfg.EyeBaselineQuantile),
		Right:       quantile(r, cfg.EyeBaselineQuantile),
		ModelAgrees: 2*modelOpen >= len(l),
	}
}

// modelOpen and modelClosed report whether the eye model reads both eyes
// open, or both closed.
func (c cues) modelOpen(cfg Config) bool {
	return c.eyesKnown && c.modelL >= cfg.EyeOpen && c.modelR >= cfg.EyeOpen
}

func (c cues) modelClosed(cfg Config) bool {
	return c.eyesKnown && c.modelL <= cfg.EyeClosed && c.modelR <= cfg.EyeClosed
}

// judgeEyes sets c's open and closed from the landmark eye aspect ratios
// relative to the baseline b. Closed: both eyes' ratios at most
// Config.EyeClosedRatio of the baseline while the eye model does not read
// both open, or, when the eye model agrees with the landmarks on this
// subject (b.ModelAgrees), the model reads both closed and both ratios are
// at most Config.EyeAgreeRatio (landmarks narrow less than the lids on
// some faces). Open: not closed, and both ratios at least
// Config.EyeOpenRatio. The eye model alone decides only without landmarks
// or baseline.
func (c *cues) judgeEyes(b EyeBaseline, cfg Config) {
	if !c.earKnown || !(b.Left > 0) || !(b.Right > 0) {
		return
	}
	l, r := c.earL/b.Left, c.earR/b.Right
	c.closed = (l <= cfg.EyeClosedRatio && r <= cfg.EyeClosedRatio && !c.modelOpen(cfg)) ||
		(b.ModelAgrees && c.modelClosed(cfg) && l <= cfg.EyeAgreeRatio && r <= cfg.EyeAgreeRatio)
	c.open = !c.closed && l >= cfg.EyeOpenRatio && r >= cfg.EyeOpenRatio
	c.eyesKnown = true
}

// median of v (sorted in place); v must not be empty.
func median(v []float64) float64 {
	sort.Float64s(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}

// quantile is the q-quantile of v (sorted in place, nearest rank below);
// v must not be empty.
func quantile(v []float64, q float64) float64 {
	sort.Float64s(v)
	i := int(math.Floor(q * float64(len(v)-1)))
	return v[max(0, min(len(v)-1, i))]
}
