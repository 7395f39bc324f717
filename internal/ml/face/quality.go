package face

import (
	"fmt"
	"math"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// Quality holds the measures taken on a face, in the pixels of the analysed
// image. Probabilities and fractions are in [0, 1]; angles in degrees.
type Quality struct {
	// LeftEyeOpen and RightEyeOpen are the eye model's probability that the
	// eye on the image's left / right is open; -1 when no eye model is loaded.
	LeftEyeOpen, RightEyeOpen float64
	// Yaw, Pitch and Roll of the head; Roll is measured from the eye line,
	// Yaw and Pitch from the pose model (0 when it is not loaded).
	Yaw, Pitch, Roll float64
	PoseAvailable    bool
	// Sharpness is the variance of the Laplacian of the aligned face's luma.
	Sharpness float64
	// Brightness is the mean luma (0-255) of the aligned face's centre;
	// Overexposed and Underexposed are the fractions of its pixels above 245
	// and below 20.
	Brightness, Overexposed, Underexposed float64
	// Uniformity is the ratio of the darker to the brighter half (left and
	// right) of the aligned face: 1 is even lighting.
	Uniformity float64
	// InterEye is the distance between the eye centres in pixels.
	InterEye float64
	// Upright is the evidence that the face is upright in the image
	// (upright.go): at least UprightSure for nearly every upright face,
	// below it for every turned face measured.
	Upright float64
	// Truncated is the fraction of the face box's expected extent that lies
	// outside the image (0 for a face fully inside).
	Truncated float64
}

func (e *Engine) measure(img *raster.RGB, f *Face) error {
	q := &f.Quality
	q.InterEye = geometry.Dist(f.Points[0], f.Points[1])
	q.Roll = math.Atan2(f.Points[1].Y-f.Points[0].Y, f.Points[1].X-f.Points[0].X) * 180 / math.Pi
	q.Truncated = truncation(f.Landmarks[:], img.W, img.H)
	lumaStats(f.Aligned, q)

	q.LeftEyeOpen, q.RightEyeOpen = -1, -1
	if e.m.Eyes != nil {
		var err error
		if q.LeftEyeOpen, err = e.eyeOpen(img, f.Landmarks[36:42]); err != nil {
			return err
		}
		if q.RightEyeOpen, err = e.eyeOpen(img, f.Landmarks[42:48]); err != nil {
			return err
		}
	}
	if e.m.Pose != nil {
		b := f.Box
		side := math.Max(b.W, b.H) * 1.5
		c := b.Center()
		patch := raster.Resize(img, geometry.Box{X: c.X - side/2, Y: c.Y - side/2, W: side, H: side}, 224, 224)
		out, err := e.m.Pose.Run(chw(patch, rgbOrder, imagenetM, imagenetS))
		if err != nil {
			return fmt.Errorf("pose: %w", err)
		}
		if len(out) != 3 {
			return fmt.Errorf("pose: want 3 outputs, got %d", len(out))
		}
		q.Yaw, q.Pitch = binAngle(out[0]), binAngle(out[1])
		q.PoseAvailable = true
	}
	return nil
}

// binAngle turns 66 logits over 3-degree bins into an angle: the softmax
// expectation of the bin index, times 3, minus 99.
func binAngle(logits []float32) float64 {
	p := softmax(logits)
	var e float64
	for i, v := range p {
		e += float64(i) * v
	}
	return e*3 - 99
}

func softmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	out := make([]float64, len(x))
	var s float64
	for i, v := range x {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// eyeOpen crops a square around the six landmarks of one eye and returns
// the model's probability that the eye is open.
func (e *Engine) eyeOpen(img *raster.RGB, pts []geometry.Point) (float64, error) {
	var c geometry.Point
	for _, p := range pts {
		c.X += p.X / float64(len(pts))
		c.Y += p.Y / float64(len(pts))
	}
	side := math.Max(geometry.Dist(pts[0], pts[3])*eyeCropScale, 4)
	patch := raster.Resize(img, geometry.Box{X: c.X - side/2, Y: c.Y - side/2, W: side, H: side}, 24, 24)
	g := patch.Gray()
	for i := range g {
		g[i] = g[i]*eyeInputScale + eyeInputOffset
	}
	out, err := e.m.Eyes.Run(g)
	if err != nil {
		return 0, fmt.Errorf("eyes: %w", err)
	}
	if len(out) == 0 || len(out[0]) != 2 {
		return 0, fmt.Errorf("eyes: unexpected output")
	}
	return softmax(out[0])[1], nil
}

// Eye-model preprocessing, chosen by measurement (docs/accuracy.md).
var (
	eyeCropScale   = 1.6
	eyeInputScale  = float32(1.0 / 255)
	eyeInputOffset = float32(0)
)

func lumaStats(a *raster.RGB, q *Quality) {
	g := a.Gray()
	w := a.W
	// Centre region of the aligned face: skin, eyes, nose, mouth.
	x0, x1, y0, y1 := w*20/112, w*92/112, w*30/112, w*104/112
	var sum, over, under, left, right float64
	var n, nl, nr float64
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			v := float64(g[y*w+x])
			sum += v
			n++
			if v > 245 {
				over++
			}
			if v < 20 {
				under++
			}
			if x < w/2 {
				left += v
				nl++
			} else {
				right += v
				nr++
			}
		}
	}
	q.Brightness = sum / n
	q.Overexposed, q.Underexposed = over/n, under/n
	l, r := left/nl, right/nr
	if hi := math.Max(l, r); hi > 0 {
		q.Uniformity = math.Min(l, r) / hi
	}
	// Variance of the 4-neighbour Laplacian over the same region.
	var ls, ls2, m float64
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			i := y*w + x
			lap := float64(4*g[i] - g[i-1] - g[i+1] - g[i-w] - g[i+w])
			ls += lap
			ls2 += lap * lap
			m++
		}
	}
	mean := ls / m
	q.Sharpness = ls2/m - mean*mean
}

// truncation estimates how much of the face lies outside the image from the
// landmarks' extent, padded by a quarter on each side.
func truncation(lm []geometry.Point, w, h int) float64 {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range lm {
		minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
		minY, maxY = math.Min(minY, p.Y), math.Max(maxY, p.Y)
	}
	pw, ph := (maxX-minX)*0.25, (maxY-minY)*0.25
	b := geometry.Box{X: minX - pw, Y: minY - ph, W: maxX - minX + 2*pw, H: maxY - minY + 2*ph}
	if b.Area() == 0 {
		return 0
	}
	in := clipBox(b, w, h)
	return 1 - in.Area()/b.Area()
}
