package decode

import "github.com/facelambda/facelambda/internal/ml/raster"

// boxResize reduces src by the factor m/8 (1 <= m <= 8) to ceil(W*m/8) x
// ceil(H*m/8), the size libjpeg-turbo's DCT scaling gives, by averaging the
// block of source pixels each destination pixel covers. As in DCT scaling,
// destination pixel i covers source pixels from i*8/m to (i+1)*8/m, here
// rounded to whole pixels. It returns src itself when m is 8.
func boxResize(src *raster.RGB, m int) *raster.RGB {
	if m >= 8 {
		return src
	}
	w, h := scaled(src.W, m), scaled(src.H, m)
	dst := raster.New(w, h)
	xs, ys := boxEdges(src.W, w, m), boxEdges(src.H, h, m)
	sums := make([]uint32, src.W*3) // per-column channel sums over a band of rows
	stride := src.W * 3
	for oy := range h {
		y0, y1 := ys[oy], ys[oy+1]
		clear(sums)
		for y := y0; y < y1; y++ {
			row := src.Pix[y*stride : (y+1)*stride]
			sums := sums[:len(row)]
			for i, v := range row {
				sums[i] += uint32(v)
			}
		}
		out := dst.Pix[oy*w*3 : (oy+1)*w*3]
		for ox := range w {
			x0, x1 := xs[ox], xs[ox+1]
			var r, g, b uint32
			cell := sums[x0*3 : x1*3]
			for i := 0; i+3 <= len(cell); i += 3 {
				r += cell[i]
				g += cell[i+1]
				b += cell[i+2]
			}
			n := uint32((y1 - y0) * (x1 - x0))
			out[ox*3] = uint8((r + n/2) / n)
			out[ox*3+1] = uint8((g + n/2) / n)
			out[ox*3+2] = uint8((b + n/2) / n)
		}
	}
	return dst
}

// boxEdges returns the n+1 source edges of the dst cells that split a side
// of src pixels at the ratio 8/m: edge i is round(i*8/m), capped so that
// every cell keeps at least one pixel, and the last edge is src.
func boxEdges(src, dst, m int) []int {
	e := make([]int, dst+1)
	for i := range dst {
		e[i] = min((i*16+m)/(2*m), src-(dst-i))
	}
	e[dst] = src
	return e
}
