package decode

import "github.com/facelambda/facelambda/internal/ml/raster"

// orient returns src transformed so that an image stored with EXIF
// orientation o is upright: 2 mirrors horizontally, 3 rotates 180°, 4
// mirrors vertically, 5 transposes, 6 rotates 90° clockwise, 7 transverses
// and 8 rotates 90° counter-clockwise. Orientation 1 and unknown values
// return src itself.
func orient(src *raster.RGB, o int) *raster.RGB {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.W, src.H
	dst := raster.New(w, h)
	if swapsAxes(o) {
		dst = raster.New(h, w)
	}
	ow := dst.W
	// The source pixel (sx, sy) lands at destination pixel index
	// origin + sx*dx + sy*dy.
	var origin, dx, dy int
	switch o {
	case 2: // (w-1-sx, sy)
		origin, dx, dy = w-1, -1, ow
	case 3: // (w-1-sx, h-1-sy)
		origin, dx, dy = (h-1)*ow+w-1, -1, -ow
	case 4: // (sx, h-1-sy)
		origin, dx, dy = (h-1)*ow, 1, -ow
	case 5: // (sy, sx)
		origin, dx, dy = 0, ow, 1
	case 6: // (h-1-sy, sx)
		origin, dx, dy = h-1, ow, -1
	case 7: // (h-1-sy, w-1-sx)
		origin, dx, dy = (w-1)*ow+h-1, -ow, -1
	case 8: // (sy, w-1-sx)
		origin, dx, dy = (w-1)*ow, -ow, 1
	}
	// Walk the source in square tiles so that the column-wise writes of
	// the 90° cases stay in cache.
	const tile = 64
	for ty := 0; ty < h; ty += tile {
		for tx := 0; tx < w; tx += tile {
			txEnd := min(tx+tile, w)
			for sy := ty; sy < min(ty+tile, h); sy++ {
				row := src.Pix[(sy*w+tx)*3 : (sy*w+txEnd)*3]
				d := origin + sy*dy + tx*dx
				for i := 0; i+3 <= len(row); i += 3 {
					o := dst.Pix[d*3 : d*3+3 : d*3+3]
					o[0], o[1], o[2] = row[i], row[i+1], row[i+2]
					d += dx
				}
			}
		}
	}
	return dst
}
