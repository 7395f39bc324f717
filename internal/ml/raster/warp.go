package raster

import (
	"math"

	"github.com/facelambda/facelambda/internal/ml/geometry"
)

// Shrink reduces m by an integer factor k with a box filter (k <= 1 returns m).
func Shrink(m *RGB, k int) *RGB {
	if k <= 1 {
		return m
	}
	w, h := m.W/k, m.H/k
	if w < 1 || h < 1 {
		return m
	}
	out := New(w, h)
	acc := make([]uint32, w*3)
	n := uint32(k * k)
	for oy := 0; oy < h; oy++ {
		clear(acc)
		for dy := 0; dy < k; dy++ {
			row := m.Pix[(oy*k+dy)*m.W*3:]
			for ox := 0; ox < w; ox++ {
				p := row[ox*k*3 : (ox*k+k)*3]
				a := acc[ox*3 : ox*3+3]
				for i := 0; i < len(p); i += 3 {
					a[0] += uint32(p[i])
					a[1] += uint32(p[i+1])
					a[2] += uint32(p[i+2])
				}
			}
		}
		o := out.Pix[oy*w*3 : (oy+1)*w*3]
		for i := range o {
			o[i] = uint8((acc[i] + n/2) / n)
		}
	}
	return out
}

// Warp renders a w x h image whose pixel (x, y) shows the source at
// toSrc(x, y), sampled bilinearly; outside the source is black. Where the
// transform shrinks by more than 1.5x, each output pixel averages a grid of
// samples so that fine detail does not alias.
func Warp(src *RGB, toSrc geometry.Affine, w, h int) *RGB {
	out := New(w, h)
	scale := math.Max(math.Hypot(toSrc[0], toSrc[3]), math.Hypot(toSrc[1], toSrc[4]))
	k := int(math.Ceil(scale - 0.5))
	if k < 1 {
		k = 1
	}
	if k > 6 {
		k = 6
	}
	inv := 1 / float64(k)
	var c [3]float64
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c = [3]float64{}
			for sy := 0; sy < k; sy++ {
				fy := float64(y) + (float64(sy)+0.5)*inv - 0.5
				for sx := 0; sx < k; sx++ {
					fx := float64(x) + (float64(sx)+0.5)*inv - 0.5
					px := toSrc[0]*fx + toSrc[1]*fy + toSrc[2]
					py := toSrc[3]*fx + toSrc[4]*fy + toSrc[5]
					r, g, b := bilinear(src, px, py)
					c[0] += r
					c[1] += g
					c[2] += b
				}
			}
			n := float64(k * k)
			i := (y*w + x) * 3
			out.Pix[i] = clamp8(c[0] / n)
			out.Pix[i+1] = clamp8(c[1] / n)
			out.Pix[i+2] = clamp8(c[2] / n)
		}
	}
	return out
}

// Resize scales the box region of src to w x h (a crop when the box lies
// inside the image; black outside it).
func Resize(src *RGB, box geometry.Box, w, h int) *RGB {
	sx, sy := box.W/float64(w), box.H/float64(h)
	// Pixel centres: dst x+0.5 maps to box.X + (x+0.5)*sx, so src coordinate
	// (in pixel-centre convention) is that minus 0.5.
	return Warp(src, geometry.Affine{sx, 0, box.X + 0.5*sx - 0.5, 0, sy, box.Y + 0.5*sy - 0.5}, w, h)
}

func bilinear(m *RGB, x, y float64) (r, g, b float64) {
	// Within a pixel of the edge the border is replicated; beyond, black.
	if x < -1 || y < -1 || x > float64(m.W) || y > float64(m.H) {
		return 0, 0, 0
	}
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	xa, xb := clampIdx(x0, m.W), clampIdx(x0+1, m.W)
	ya, yb := clampIdx(y0, m.H), clampIdx(y0+1, m.H)
	p00, p01 := (ya*m.W+xa)*3, (ya*m.W+xb)*3
	p10, p11 := (yb*m.W+xa)*3, (yb*m.W+xb)*3
	w00, w01, w10, w11 := (1-fx)*(1-fy), fx*(1-fy), (1-fx)*fy, fx*fy
	px := m.Pix
	r = w00*float64(px[p00]) + w01*float64(px[p01]) + w10*float64(px[p10]) + w11*float64(px[p11])
	g = w00*float64(px[p00+1]) + w01*float64(px[p01+1]) + w10*float64(px[p10+1]) + w11*float64(px[p11+1])
	b = w00*float64(px[p00+2]) + w01*float64(px[p01+2]) + w10*float64(px[p10+2]) + w11*float64(px[p11+2])
	return r, g, b
}

func clampIdx(i, n int) int {
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

func clamp8(v float64) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}

// Gray returns the luma (0.299R + 0.587G + 0.114B) of every pixel.
func (m *RGB) Gray() []float32 {
	g := make([]float32, m.W*m.H)
	for i := range g {
		p := m.Pix[i*3 : i*3+3]
		g[i] = 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
	}
	return g
}

// Rotate90 returns m rotated clockwise by 90 degrees times quarter turns.
func (m *RGB) Rotate90(quarters int) *RGB {
	q := ((quarters % 4) + 4) % 4
	if q == 0 {
		return m
	}
	w, h := m.W, m.H
	if q%2 == 1 {
		w, h = h, w
	}
	out := New(w, h)
	for y := 0; y < m.H; y++ {
		for x := 0; x < m.W; x++ {
			var nx, ny int
			switch q {
			case 1:
				nx, ny = m.H-1-y, x
			case 2:
				nx, ny = m.W-1-x, m.H-1-y
			case 3:
				nx, ny = y, m.W-1-x
			}
			copy(out.Pix[(ny*w+nx)*3:(ny*w+nx)*3+3], m.Pix[(y*m.W+x)*3:(y*m.W+x)*3+3])
		}
	}
	return out
}
