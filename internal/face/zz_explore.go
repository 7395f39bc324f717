package face

import (
	"math"

	"github.com/facelambda/facelambda/internal/geometry"
	"github.com/facelambda/facelambda/internal/raster"
)

// XProbe is exploratory.
func (e *Engine) XProbe(img *raster.RGB, f *Face) (shiftErr, flipCos, flipNorm float64) {
	side := math.Sqrt(f.Box.W * f.Box.H)
	var tot float64
	for _, dxy := range [][2]float64{{0.1, 0}, {0, 0.1}, {-0.1, 0}, {0, -0.1}} {
		g := &Face{Detection: f.Detection}
		g.Box.X += dxy[0] * side
		g.Box.Y += dxy[1] * side
		if err := e.landmarks(img, g); err != nil {
			panic(err)
		}
		var d float64
		for i := range g.Landmarks {
			d += geometry.Dist(g.Landmarks[i], f.Landmarks[i])
		}
		tot += d / 68 / (0.1 * side)
	}
	shiftErr = tot / 4
	fl := raster.New(f.Aligned.W, f.Aligned.H)
	for y := 0; y < fl.H; y++ {
		for x := 0; x < fl.W; x++ {
			copy(fl.Pix[(y*fl.W+x)*3:(y*fl.W+x)*3+3], f.Aligned.Pix[(y*fl.W+fl.W-1-x)*3:])
		}
	}
	out, err := e.m.Embedding.Run(chw(fl, bgrOrder, centred, by128))
	if err != nil {
		panic(err)
	}
	for _, v := range out[0] {
		flipNorm += float64(v * v)
	}
	flipNorm = math.Sqrt(flipNorm)
	flipCos = Cosine(f.Embedding, Normalize(out[0]))
	return
}
