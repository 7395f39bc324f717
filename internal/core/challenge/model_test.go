package challenge_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/geometry"
)

// vec3 is a point of the synthetic head, in inter-eye distances: origin at
// the eyes' midpoint, x towards the image's right, y down, z towards the
// camera.
type vec3 struct{ x, y, z float64 }

// headModel builds a simple 3-D face in the 68-point markup: the jaw on a
// half ellipse in the plane z = 0, brows and eyes 0.2 forward, the nose
// ridge rising to a tip 0.6 forward, the mouth 0.4 forward. Its frontal
// proportions follow dlib's mean shape (nose tip at 0.31 of the way from
// the eye line to the chin). flat puts every point in the plane z = 0: a
// photograph of the face.
func headModel(flat bool) []vec3 {
	p := make([]vec3, challenge.NumLandmarks)
	for i := 0; i <= 16; i++ { // jaw, from the image's left through the chin
		phi := math.Pi * float64(i) / 16
		p[i] = vec3{-1.13 * math.Cos(phi), 0.03 + 1.83*math.Sin(phi), 0}
	}
	for i := 0; i < 5; i++ { // brows: 17-21 on the image's left, 22-26 mirrored
		t := float64(i) / 4
		x, y := -0.95+0.75*t, -0.32-0.1*math.Sin(math.Pi*t)
		p[17+i] = vec3{x, y, 0.2}
		p[26-i] = vec3{-x, y, 0.2}
	}
	for i := 0; i < 4; i++ { // nose ridge 27-30, 30 the tip
		t := float64(i) / 3
		p[27+i] = vec3{0, 0.1 + 0.47*t, 0.3 + 0.3*t}
	}
	copy(p[31:36], []vec3{{-0.22, 0.66, 0.35}, {-0.11, 0.70, 0.42}, {0, 0.72, 0.45}, {0.11, 0.70, 0.42}, {0.22, 0.66, 0.35}})
	// Eyes: outer corner, upper lid, inner corner, lower lid.
	eye := [6][2]float64{{-0.22, 0}, {-0.08, -0.07}, {0.08, -0.07}, {0.22, 0}, {0.08, 0.07}, {-0.08, 0.07}}
	for i, e := range eye {
		p[36+i] = vec3{-0.5 + e[0], e[1], 0.2}
		p[42+i] = vec3{0.5 + e[0], e[1], 0.2}
	}
	for i := 0; i < 12; i++ { // outer lips from the left corner over the top
		phi := math.Pi + 2*math.Pi*float64(i)/12
		p[48+i] = vec3{0.4 * math.Cos(phi), 1.05 + 0.18*math.Sin(phi), 0.4}
	}
	for i := 0; i < 8; i++ { // inner lips
		phi := math.Pi + 2*math.Pi*float64(i)/8
		p[60+i] = vec3{0.3 * math.Cos(phi), 1.05 + 0.06*math.Sin(phi), 0.4}
	}
	if flat {
		for i := range p {
			p[i].z = 0
		}
	}
	return p
}

// Camera of the synthetic captures: 6 face widths away, inter-eye distance
// about 60 pixels.
const (
	camDist = 6 * 2.26
	camIED  = 60.0
	camX    = 320.0
	camY    = 200.0
)

// headCentre is the point the head rotates about, behind the face.
var headCentre = vec3{0, 0.7, -0.8}

// project rotates the model by yaw (> 0: towards the subject's left, the
// nose to the image's right) and pitch (> 0: up) in degrees about the head's
// centre, then projects it with a pinhole camera.
func project(m []vec3, yaw, pitch float64) []geometry.Point {
	sy, cy := math.Sincos(yaw * math.Pi / 180)
	sp, cp := math.Sincos(pitch * math.Pi / 180)
	out := make([]geometry.Point, len(m))
	for i, v := range m {
		x, y, z := v.x-headCentre.x, v.y-headCentre.y, v.z-headCentre.z
		x, z = x*cy+z*sy, -x*sy+z*cy
		y, z = y*cp-z*sp, y*sp+z*cp
		x, y, z = x+headCentre.x, y+headCentre.y, z+headCentre.z
		s := camIED * camDist / (camDist - z)
		out[i] = geometry.Point{X: camX + x*s, Y: camY + y*s}
	}
	return out
}

// rotate2D rotates points by deg degrees about c.
func rotate2D(pts []geometry.Point, deg float64, c geometry.Point) []geometry.Point {
	s, co := math.Sincos(deg * math.Pi / 180)
	out := make([]geometry.Point, len(pts))
	for i, p := range pts {
		x, y := p.X-c.X, p.Y-c.Y
		out[i] = geometry.Point{X: c.X + co*x - s*y, Y: c.Y + s*x + co*y}
	}
	return out
}

// unitVector is a random L2-normalised vector of dimension n.
func unitVector(r *rand.Rand, n int) []float32 {
	v := make([]float64, n)
	var ss float64
	for i := range v {
		v[i] = r.NormFloat64()
		ss += v[i] * v[i]
	}
	out := make([]float32, n)
	for i := range v {
		out[i] = float32(v[i] / math.Sqrt(ss))
	}
	return out
}

// noisy adds noise of standard deviation sigma to v and normalises it.
func noisy(r *rand.Rand, v []float32, sigma float64) []float32 {
	w := make([]float64, len(v))
	var ss float64
	for i := range v {
		w[i] = float64(v[i]) + sigma*r.NormFloat64()
		ss += w[i] * w[i]
	}
	out := make([]float32, len(v))
	for i := range w {
		out[i] = float32(w[i] / math.Sqrt(ss))
	}
	return out
}

const embedDim = 64

// capture builds synthetic observation sequences: one frame every dt, the
// subject's landmarks projected from the head model, the embedding the
// person's vector with a little noise.
type capture struct {
	// restYaw and restPitch are added to every frame's pose: the subject's
	// resting pose off frontal. eyeScale (when > 0) scales every frame's
	// eye opening in the landmarks: a subject with narrow eyes.
	restYaw, restPitch, eyeScale float64

	model  []vec3
	person []float32
	live   float64
	dt     time.Duration
	rng    *rand.Rand
	obs    []challenge.Observation
}

func newCapture(flat bool) *capture {
	r := rand.New(rand.NewPCG(1, 2))
	return &capture{
		model:  headModel(flat),
		person: unitVector(r, embedDim),
		live:   2,
		dt:     100 * time.Millisecond,
		rng:    r,
	}
}

// frame returns the observation of the subject at the given pose (degrees)
// and eye openness, at time t.
func (c *capture) frame(t time.Duration, yaw, pitch, eyes float64) challenge.Observation {
	return challenge.Observation{
		Time:          t,
		Faces:         1,
		Yaw:           yaw,
		Pitch:         pitch,
		PoseAvailable: true,
		LeftEyeOpen:   eyes,
		RightEyeOpen:  eyes,
		Landmarks:     project(withEyes(c.model, eyes), yaw, pitch),
		Embedding:     noisy(c.rng, c.person, 0.02),
		Live:          c.live,
		Quality:       80,
	}
}

// add appends a frame one dt after the last.
func (c *capture) add(yaw, pitch, eyes float64) *capture {
	o := c.frame(time.Duration(len(c.obs))*c.dt, yaw+c.restYaw, pitch+c.restPitch, eyes)
	if c.eyeScale > 0 {
		lids := eyes
		if lids < 0 || lids > 1 {
			lids = 1
		}
		o.Landmarks = project(withEyes(c.model, lids*c.eyeScale), yaw+c.restYaw, pitch+c.restPitch)
	}
	c.obs = append(c.obs, o)
	return c
}

// neutral appends n frontal frames, eyes open.
func (c *capture) neutral(n int) *capture {
	for i := 0; i < n; i++ {
		c.add(0, 0, 0.95)
	}
	return c
}

// ramp is a movement out to its peak and back, as fractions of the peak.
var ramp = []float64{0.25, 0.5, 0.75, 1, 1, 0.75, 0.5, 0.25, 0}

// turn appends a head turn out to yaw degrees and back.
func (c *capture) turn(yaw float64) *capture {
	for _, f := range ramp {
		c.add(f*yaw, 0, 0.95)
	}
	return c
}

// tilt appends a look up (pitch > 0) or down out to pitch degrees and back.
func (c *capture) tilt(pitch float64) *capture {
	for _, f := range ramp {
		c.add(0, f*pitch, 0.95)
	}
	return c
}

// blink appends open, closed, closed, open frames.
func (c *capture) blink() *capture {
	for _, e := range []float64{0.9, 0.1, 0.05, 0.9} {
		c.add(0, 0, e)
	}
	return c
}

// perform appends a performance of a.
func (c *capture) perform(a challenge.Action) *capture {
	switch a {
	case challenge.TurnLeft:
		return c.turn(35)
	case challenge.TurnRight:
		return c.turn(-35)
	case challenge.LookUp:
		return c.tilt(25)
	case challenge.LookDown:
		return c.tilt(-25)
	}
	return c.blink()
}

// withEyes returns a copy of the model m with both eyes' lids opened to the
// fraction eyes of the model's (1 when eyes is outside [0, 1]): the eye
// aspect ratio follows the eye openness.
func withEyes(m []vec3, eyes float64) []vec3 {
	if eyes < 0 || eyes > 1 {
		eyes = 1
	}
	out := slices.Clone(m)
	for i := 36; i < 48; i++ {
		out[i].y *= eyes // the eye line is y = 0
	}
	return out
}

// pts makes points from x, y pairs.
func pts(xy ...float64) []geometry.Point {
	out := make([]geometry.Point, len(xy)/2)
	for i := range out {
		out[i] = geometry.Point{X: xy[2*i], Y: xy[2*i+1]}
	}
	return out
}
