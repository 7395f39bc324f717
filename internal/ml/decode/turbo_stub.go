//go:build !cgo || noturbo

package decode

import "github.com/facelambda/facelambda/internal/ml/raster"

// Turbo reports whether JPEG decoding uses libjpeg-turbo: false in this
// build (cgo disabled or the noturbo tag set), which decodes with image/jpeg.
const Turbo = false

// turboDecode is never called when Turbo is false.
func turboDecode([]byte, jpegHeader, int) (*raster.RGB, string, error) {
	return nil, "", errTurboFallback
}
