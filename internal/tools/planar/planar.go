// Package planar renders planar presentation attacks: a flat picture (a
// printed photo, a screen) turned in front of a camera. The frames it makes
// move exactly as a plane does, which is what active liveness's planar
// motion test must catch; tests and the planarity evaluation use them.
package planar

import (
	"fmt"
	"math"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// Homography returns the map from output pixels to source pixels of a
// w x h picture rotated by yaw (around the vertical axis) then pitch
// (around the horizontal axis), in degrees, about its centre, and seen in
// perspective from a camera dist picture-widths away whose image at yaw =
// pitch = 0 is the picture itself.
func Homography(w, h int, yaw, pitch, dist float64) (challenge.Homography, error) {
	if w < 2 || h < 2 || !(dist > 0) {
		return challenge.Homography{}, fmt.Errorf("planar: bad geometry %dx%d at distance %v", w, h, dist)
	}
	f := dist * float64(w)
	cx, cy := float64(w)/2, float64(h)/2
	a, b := yaw*math.Pi/180, pitch*math.Pi/180
	project := func(x, y float64) geometry.Point {
		X, Y, Z := x*math.Cos(a), y, -x*math.Sin(a)
		Y, Z = Y*math.Cos(b)-Z*math.Sin(b), Y*math.Sin(b)+Z*math.Cos(b)
		return geometry.Point{X: cx + f*X/(f+Z), Y: cy + f*Y/(f+Z)}
	}
	var src, dst []geometry.Point
	for _, c := range [][2]float64{{-cx, -cy}, {cx, -cy}, {cx, cy}, {-cx, cy}, {0, 0}, {cx / 2, cy / 3}} {
		src = append(src, geometry.Point{X: c[0] + cx, Y: c[1] + cy})
		dst = append(dst, project(c[0], c[1]))
	}
	hm, ok := challenge.FitHomography(dst, src)
	if !ok {
		return challenge.Homography{}, fmt.Errorf("planar: degenerate turn yaw %v pitch %v", yaw, pitch)
	}
	return hm, nil
}

// Turn renders src turned by yaw and pitch (degrees) at distance dist (in
// picture widths; 2.5 is a hand-held photo), grey outside the picture,
// sampled bilinearly.
func Turn(src *raster.RGB, yaw, pitch, dist float64) (*raster.RGB, error) {
	hm, err := Homography(src.W, src.H, yaw, pitch, dist)
	if err != nil {
		return nil, err
	}
	out := raster.New(src.W, src.H)
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			p := hm.Apply(geometry.Point{X: float64(x) + 0.5, Y: float64(y) + 0.5})
			i := 3 * (y*out.W + x)
			px, py := p.X-0.5, p.Y-0.5
			if px < 0 || py < 0 || px > float64(src.W-1) || py > float64(src.H-1) {
				out.Pix[i], out.Pix[i+1], out.Pix[i+2] = 128, 128, 128
				continue
			}
			x0, y0 := int(px), int(py)
			x1, y1 := min(x0+1, src.W-1), min(y0+1, src.H-1)
			fx, fy := px-float64(x0), py-float64(y0)
			for c := range 3 {
				v00 := float64(src.Pix[3*(y0*src.W+x0)+c])
				v10 := float64(src.Pix[3*(y0*src.W+x1)+c])
				v01 := float64(src.Pix[3*(y1*src.W+x0)+c])
				v11 := float64(src.Pix[3*(y1*src.W+x1)+c])
				v := (v00*(1-fx)+v10*fx)*(1-fy) + (v01*(1-fx)+v11*fx)*fy
				out.Pix[i+c] = uint8(math.Round(v))
			}
		}
	}
	return out, nil
}
