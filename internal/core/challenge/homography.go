package challenge

import (
	"math"

	"github.com/facelambda/facelambda/internal/ml/geometry"
)

// Homography is a plane projective transform: the row-major 3x3 matrix
// mapping (x, y, 1) to (u, v, w), normalised so that h[8] is 1.
type Homography [9]float64

// Apply maps p; the result is infinite when p maps to the line at infinity.
func (h Homography) Apply(p geometry.Point) geometry.Point {
	w := h[6]*p.X + h[7]*p.Y + h[8]
	return geometry.Point{
		X: (h[0]*p.X + h[1]*p.Y + h[2]) / w,
		Y: (h[3]*p.X + h[4]*p.Y + h[5]) / w,
	}
}

func (h Homography) mul(g Homography) Homography {
	var m Homography
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			m[3*r+c] = h[3*r]*g[c] + h[3*r+1]*g[3+c] + h[3*r+2]*g[6+c]
		}
	}
	return m
}

// normaliser returns Hartley's conditioning of pts: the similarity moving
// their centroid to the origin and their mean distance to it to sqrt(2),
// and its inverse. ok is false when the points coincide or are not finite.
func normaliser(pts []geometry.Point) (t, inv Homography, ok bool) {
	var cx, cy float64
	for _, p := range pts {
		cx += p.X
		cy += p.Y
	}
	n := float64(len(pts))
	cx, cy = cx/n, cy/n
	var d float64
	for _, p := range pts {
		d += math.Hypot(p.X-cx, p.Y-cy)
	}
	d /= n
	if !(d > 1e-12) || math.IsInf(d, 0) || math.IsNaN(cx+cy) || math.IsInf(cx+cy, 0) {
		return t, inv, false
	}
	s := math.Sqrt2 / d
	t = Homography{s, 0, -s * cx, 0, s, -s * cy, 0, 0, 1}
	inv = Homography{1 / s, 0, cx, 0, 1 / s, cy, 0, 0, 1}
	return t, inv, true
}

// FitHomography returns the homography mapping src onto dst that minimises
// the algebraic error of the direct linear transform, with Hartley's
// normalisation of both point sets and h[8] = 1: the 8x8 normal equations
// are solved by Gaussian elimination with partial pivoting. src and dst
// must have the same length, at least 4; ok is false otherwise, and when
// the points are degenerate (e.g. collinear) or the result is not finite.
func FitHomography(src, dst []geometry.Point) (Homography, bool) {
	if len(src) < 4 || len(src) != len(dst) {
		return Homography{}, false
	}
	ts, _, ok := normaliser(src)
	if !ok {
		return Homography{}, false
	}
	td, tdInv, ok := normaliser(dst)
	if !ok {
		return Homography{}, false
	}
	// Normal equations M h = b of the rows
	//   [x y 1 0 0 0 -xu -yu] h = u
	//   [0 0 0 x y 1 -xv -yv] h = v.
	var m [8][9]float64 // augmented with b in column 8
	var row [8]float64
	add := func(rhs float64) {
		for i := 0; i < 8; i++ {
			if row[i] == 0 {
				continue
			}
			for j := 0; j < 8; j++ {
				m[i][j] += row[i] * row[j]
			}
			m[i][8] += row[i] * rhs
		}
	}
	for i := range src {
		p, q := ts.Apply(src[i]), td.Apply(dst[i])
		row = [8]float64{p.X, p.Y, 1, 0, 0, 0, -p.X * q.X, -p.Y * q.X}
		add(q.X)
		row = [8]float64{0, 0, 0, p.X, p.Y, 1, -p.X * q.Y, -p.Y * q.Y}
		add(q.Y)
	}
	h, ok := solve8(&m)
	if !ok {
		return Homography{}, false
	}
	hn := Homography{h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1}
	out := tdInv.mul(hn).mul(ts)
	if !(math.Abs(out[8]) > 1e-12) {
		return Homography{}, false
	}
	w := out[8]
	for i := range out {
		out[i] /= w
		if math.IsNaN(out[i]) || math.IsInf(out[i], 0) {
			return Homography{}, false
		}
	}
	return out, true
}

// solve8 solves the augmented 8x8 system by Gaussian elimination with
// partial pivoting; ok is false when it is (numerically) singular.
func solve8(m *[8][9]float64) ([8]float64, bool) {
	var scale float64
	for i := 0; i < 8; i++ {
		scale = math.Max(scale, math.Abs(m[i][i]))
	}
	if !(scale > 0) || math.IsInf(scale, 0) {
		return [8]float64{}, false
	}
	tol := scale * 1e-10
	for c := 0; c < 8; c++ {
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		if !(math.Abs(m[p][c]) > tol) {
			return [8]float64{}, false
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < 8; r++ {
			f := m[r][c] / m[c][c]
			if f == 0 {
				continue
			}
			for k := c; k < 9; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	var x [8]float64
	for r := 7; r >= 0; r-- {
		s := m[r][8]
		for k := r + 1; k < 8; k++ {
			s -= m[r][k] * x[k]
		}
		x[r] = s / m[r][r]
	}
	return x, true
}

// PlanarResiduals measures how far the motion from ref to moved (two
// frames' 68 landmarks) is from a rigid motion in the image plane and from
// the motion of a plane. It fits the best similarity and the best
// homography mapping ref's points 0-47 (jaw, brows, nose, eyes; the mouth
// moves with expression) onto moved's, and returns their RMS residuals
// divided by ref's inter-eye distance (between the means of points 36-41
// and 42-47) times the similarity's scale, so that they are fractions of
// the inter-eye distance even when the subject came closer. A head turning
// gives a large similarity residual and, from its depth, a homography
// residual well above 0; a photograph gives a homography residual near 0.
// ok is false when either set has fewer than 48 points, their lengths
// differ, or a fit fails.
func PlanarResiduals(ref, moved []geometry.Point) (similarity, homography float64, ok bool) {
	similarity, unit, ok := similarityResidual(ref, moved)
	if !ok {
		return 0, 0, false
	}
	src, dst := ref[:lmMouth], moved[:lmMouth]
	h, ok := FitHomography(src, dst)
	if !ok {
		return 0, 0, false
	}
	var ss float64
	for i := range src {
		ss += sqDist(h.Apply(src[i]), dst[i])
	}
	homography = math.Sqrt(ss/float64(len(src))) / unit
	if math.IsNaN(homography) || math.IsInf(homography, 0) {
		return 0, 0, false
	}
	return similarity, homography, true
}

// similarityResidual is PlanarResiduals' first value, with the unit the
// residuals are divided by: ref's inter-eye distance times the fitted
// similarity's scale.
func similarityResidual(ref, moved []geometry.Point) (res, unit float64, ok bool) {
	if len(ref) < lmMouth || len(ref) != len(moved) {
		return 0, 0, false
	}
	src, dst := ref[:lmMouth], moved[:lmMouth]
	sim, ok := geometry.Similarity(src, dst)
	if !ok {
		return 0, 0, false
	}
	a, b := eyeCentres(src)
	unit = geometry.Dist(a, b) * sim.Scale()
	if !(unit > 1e-9) || math.IsInf(unit, 0) {
		return 0, 0, false
	}
	var ss float64
	for i := range src {
		ss += sqDist(sim.Apply(src[i]), dst[i])
	}
	res = math.Sqrt(ss/float64(len(src))) / unit
	if math.IsNaN(res) || math.IsInf(res, 0) {
		return 0, 0, false
	}
	return res, unit, true
}

func sqDist(a, b geometry.Point) float64 {
	dx, dy := a.X-b.X, a.Y-b.Y
	return dx*dx + dy*dy
}
