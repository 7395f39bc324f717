package decode

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// header is what Decode and Config learn without decoding pixels.
type header struct {
	format        string
	width, height int // stored dimensions, before orientation
	orientation   int
	jpeg          jpegHeader // for JPEG only
}

// readHeader sniffs the format and reads the stored dimensions and EXIF
// orientation. It allocates no pixel memory whatever the header claims.
func readHeader(data []byte) (header, error) {
	if len(data) == 0 {
		return header{}, fmt.Errorf("%w: no bytes", ErrEmpty)
	}
	format, err := sniff(data)
	if err != nil {
		return header{}, err
	}
	h := header{format: format, orientation: 1}
	switch format {
	case FormatJPEG:
		jh, err := scanJPEG(data)
		if err != nil {
			return h, err
		}
		h.jpeg = jh
		h.width, h.height, h.orientation = jh.width, jh.height, jh.orientation
		return h, nil
	case FormatWebP:
		info := scanWebP(data)
		if info.animated {
			return h, fmt.Errorf("%w: animated WebP", ErrUnsupported)
		}
		h.orientation = info.orientation
		h.width, h.height, err = decodeConfig(format, data, webp.DecodeConfig)
	case FormatPNG:
		h.width, h.height, err = decodeConfig(format, data, png.DecodeConfig)
	case FormatGIF:
		h.width, h.height, err = decodeConfig(format, data, gif.DecodeConfig)
	}
	return h, err
}

// decodeConfig runs a standard library DecodeConfig, turning panics and
// errors into this package's errors and rejecting zero dimensions.
func decodeConfig(format string, data []byte, fn func(io.Reader) (image.Config, error)) (w, h int, err error) {
	defer func() {
		if r := recover(); r != nil {
			w, h, err = 0, 0, fmt.Errorf("%w: %s header decoder panicked: %v", ErrCorrupt, format, r)
		}
	}()
	c, err := fn(bytes.NewReader(data))
	if err != nil {
		return 0, 0, classify(format, err)
	}
	if c.Width <= 0 || c.Height <= 0 {
		return 0, 0, fmt.Errorf("%w: %s has zero dimensions %dx%d", ErrCorrupt, format, c.Width, c.Height)
	}
	return c.Width, c.Height, nil
}
