// Package geometry holds the plane geometry of the face pipeline: points,
// boxes, intersection over union, non-maximum suppression, letterbox mapping
// and least-squares similarity transforms.
package geometry

import (
	"math"
	"sort"
)

// Point is a position in pixels.
type Point struct{ X, Y float64 }

// Box is an axis-aligned rectangle: corner (X, Y), width W and height H.
type Box struct{ X, Y, W, H float64 }

// Area is W*H, or 0 for an empty box.
func (b Box) Area() float64 {
	if b.W <= 0 || b.H <= 0 {
		return 0
	}
	return b.W * b.H
}

// Center is the box's centre.
func (b Box) Center() Point { return Point{b.X + b.W/2, b.Y + b.H/2} }

// IoU is the intersection over union of two boxes (0 when either is empty).
func IoU(a, b Box) float64 {
	x0, y0 := math.Max(a.X, b.X), math.Max(a.Y, b.Y)
	x1, y1 := math.Min(a.X+a.W, b.X+b.W), math.Min(a.Y+a.H, b.Y+b.H)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	inter := (x1 - x0) * (y1 - y0)
	union := a.Area() + b.Area() - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// Scored is a box with a detection score.
type Scored struct {
	Box   Box
	Score float64
}

// NMS keeps the highest-scoring boxes, dropping any box whose IoU with an
// already kept box exceeds maxIoU. The result is sorted by score, best first.
func NMS(boxes []Scored, maxIoU float64) []Scored {
	s := append([]Scored(nil), boxes...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Score > s[j].Score })
	var keep []Scored
	for _, c := range s {
		ok := true
		for _, k := range keep {
			if IoU(c.Box, k.Box) > maxIoU {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, c)
		}
	}
	return keep
}

// Letterbox describes fitting a W x H image into a DstW x DstH canvas
// without distortion: scale, then centre with padding.
type Letterbox struct {
	Scale      float64
	PadX, PadY float64
	DstW, DstH int
}

// NewLetterbox fits a w x h image into dstW x dstH.
func NewLetterbox(w, h, dstW, dstH int) Letterbox {
	s := math.Min(float64(dstW)/float64(w), float64(dstH)/float64(h))
	return Letterbox{
		Scale: s,
		PadX:  (float64(dstW) - float64(w)*s) / 2,
		PadY:  (float64(dstH) - float64(h)*s) / 2,
		DstW:  dstW, DstH: dstH,
	}
}

// ToSource maps a canvas point back to the source image.
func (l Letterbox) ToSource(p Point) Point {
	return Point{(p.X - l.PadX) / l.Scale, (p.Y - l.PadY) / l.Scale}
}

// ToCanvas maps a source point onto the canvas.
func (l Letterbox) ToCanvas(p Point) Point {
	return Point{p.X*l.Scale + l.PadX, p.Y*l.Scale + l.PadY}
}

// Affine is the 2x3 matrix [A B C; D E F] mapping (x, y) to
// (A*x + B*y + C, D*x + E*y + F).
type Affine [6]float64

// Apply maps p.
func (m Affine) Apply(p Point) Point {
	return Point{m[0]*p.X + m[1]*p.Y + m[2], m[3]*p.X + m[4]*p.Y + m[5]}
}

// Invert returns the inverse transform; ok is false when m is singular.
func (m Affine) Invert() (Affine, bool) {
	det := m[0]*m[4] - m[1]*m[3]
	if math.Abs(det) < 1e-12 {
		return Affine{}, false
	}
	a, b, d, e := m[4]/det, -m[1]/det, -m[3]/det, m[0]/det
	return Affine{a, b, -(a*m[2] + b*m[5]), d, e, -(d*m[2] + e*m[5])}, true
}

// Similarity returns the least-squares similarity transform (rotation,
// uniform scale, translation; no reflection) mapping src onto dst: Umeyama's
// method, which for 2-D reduces to closed form. src and dst must have the
// same length (at least 2 points, not all coincident); ok is false otherwise.
func Similarity(src, dst []Point) (Affine, bool) {
	n := len(src)
	if n < 2 || len(dst) != n {
		return Affine{}, false
	}
	var ms, md Point
	for i := range src {
		ms.X += src[i].X
		ms.Y += src[i].Y
		md.X += dst[i].X
		md.Y += dst[i].Y
	}
	fn := float64(n)
	ms = Point{ms.X / fn, ms.Y / fn}
	md = Point{md.X / fn, md.Y / fn}
	// With centred points, the optimal a = s*cos, b = s*sin minimise
	// sum |R s x + t - y|^2: a = sum(x.y)/sum|x|^2, b = sum(x cross y)/sum|x|^2.
	var sxx, dot, cross float64
	for i := range src {
		x := Point{src[i].X - ms.X, src[i].Y - ms.Y}
		y := Point{dst[i].X - md.X, dst[i].Y - md.Y}
		sxx += x.X*x.X + x.Y*x.Y
		dot += x.X*y.X + x.Y*y.Y
		cross += x.X*y.Y - x.Y*y.X
	}
	if sxx < 1e-12 {
		return Affine{}, false
	}
	a, b := dot/sxx, cross/sxx
	tx := md.X - (a*ms.X - b*ms.Y)
	ty := md.Y - (b*ms.X + a*ms.Y)
	return Affine{a, -b, tx, b, a, ty}, true
}

// Scale is the uniform scale factor of a similarity transform.
func (m Affine) Scale() float64 { return math.Hypot(m[0], m[3]) }

// Dist is the Euclidean distance between two points.
func Dist(a, b Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }
