package decode

import "github.com/facelambda/facelambda/internal/ml/raster"

// Default limits, used when the corresponding Options field is zero or negative.
const (
	DefaultMaxBytes  = 15 << 20   // 15 MiB
	DefaultMaxPixels = 40_000_000 // 40 MP
)

// Options controls [Decode]. The zero value is ready to use.
type Options struct {
	// MaxBytes is the largest accepted upload, checked before anything else.
	// DefaultMaxBytes when zero or negative.
	MaxBytes int
	// MaxPixels is the largest accepted width*height, checked from the image
	// header before any pixel memory is allocated. DefaultMaxPixels when zero
	// or negative.
	MaxPixels int
	// MinSide, when positive, lets Decode return a downscaled image whose
	// shorter side is still at least MinSide (or the full image when it is
	// smaller than that). The factor is M/8 for M in 1..8 on every path:
	// libjpeg-turbo scales JPEG in the DCT domain, everything else is
	// decoded at full size and reduced with a box filter.
	MinSide int
	// PureGo forces image/jpeg even where libjpeg-turbo is compiled in.
	PureGo bool
}

func (o Options) maxBytes() int {
	if o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

func (o Options) maxPixels() int {
	if o.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return o.MaxPixels
}

// Result is a decoded, upright image.
type Result struct {
	// Image holds the upright pixels, possibly downscaled (see Scale).
	Image *raster.RGB
	// Format is "jpeg", "png", "webp" or "gif".
	Format string
	// Width and Height are the original dimensions after EXIF orientation,
	// that is swapped for the orientations that rotate by 90 or 270 degrees.
	Width, Height int
	// Scale is the factor M/8 the image was reduced by, 1 when it was not:
	// a point (x, y) of Image maps to (x/Scale, y/Scale) in the original
	// (upright) image, on both axes. Image.W is Width*Scale rounded up, so
	// Image.W / Width can exceed Scale by less than 1/Width.
	Scale float64
	// Orientation is the EXIF orientation (1-8) that was applied; 1 when
	// the image had none.
	Orientation int
	// Warning is the first non-fatal warning libjpeg-turbo reported for a
	// damaged but usable JPEG (see the package documentation), or "".
	Warning string
}

// scaleEighths returns the M of the smallest scaling factor M/8 whose scaled
// shorter side, rounded up, is still at least minSide; 8 (no scaling) when
// minSide is not positive or the image is already that small.
func scaleEighths(w, h, minSide int) int {
	if minSide <= 0 {
		return 8
	}
	short := min(w, h)
	for m := 1; m < 8; m++ {
		if scaled(short, m) >= minSide {
			return m
		}
	}
	return 8
}

// scaled returns side*m/8 rounded up, as libjpeg-turbo's TJSCALED does.
func scaled(side, m int) int {
	return (side*m + 7) / 8
}
