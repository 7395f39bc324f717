package face

import "github.com/facelambda/facelambda/internal/ml/raster"

// channelOrder selects how RGB pixels are laid out in a CHW tensor.
type channelOrder int

const (
	rgbOrder channelOrder = iota
	bgrOrder
)

// chw converts m to a planar float32 tensor, (p - mean[c]) / std[c] per
// output channel c.
func chw(m *raster.RGB, order channelOrder, mean, std [3]float32) []float32 {
	n := m.W * m.H
	out := make([]float32, 3*n)
	src := [3]int{0, 1, 2}
	if order == bgrOrder {
		src = [3]int{2, 1, 0}
	}
	for c := 0; c < 3; c++ {
		plane := out[c*n : (c+1)*n]
		s, mu, inv := src[c], mean[c], 1/std[c]
		for i := range plane {
			plane[i] = (float32(m.Pix[i*3+s]) - mu) * inv
		}
	}
	return out
}

var (
	centred   = [3]float32{127, 127, 127}
	by128     = [3]float32{128, 128, 128}
	imagenetM = [3]float32{0.485 * 255, 0.456 * 255, 0.406 * 255}
	imagenetS = [3]float32{0.229 * 255, 0.224 * 255, 0.225 * 255}
)
