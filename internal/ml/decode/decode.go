package decode

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/facelambda/facelambda/internal/ml/raster"
	"golang.org/x/image/webp"
)

// Decode checks the limits in opt against data's size and header, then
// decodes it into an upright RGB image, downscaled when opt.MinSide allows.
// Every error wraps ErrEmpty, ErrTooLarge, ErrUnsupported or ErrCorrupt.
func Decode(data []byte, opt Options) (*Result, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: no bytes", ErrEmpty)
	}
	if limit := opt.maxBytes(); len(data) > limit {
		return nil, fmt.Errorf("%w: %d bytes, more than the limit of %d bytes", ErrTooLarge, len(data), limit)
	}
	h, err := readHeader(data)
	if err != nil {
		return nil, err
	}
	if px, limit := int64(h.width)*int64(h.height), int64(opt.maxPixels()); px > limit {
		return nil, fmt.Errorf("%w: %dx%d is %d pixels, more than the limit of %d pixels",
			ErrTooLarge, h.width, h.height, px, limit)
	}

	eighths := scaleEighths(h.width, h.height, opt.MinSide)
	sw, sh := scaled(h.width, eighths), scaled(h.height, eighths)
	var (
		img     *raster.RGB
		warning string
	)
	if h.format == FormatJPEG {
		img, warning, err = decodeJPEG(data, h.jpeg, eighths, opt)
	} else {
		img, err = decodeOther(h, data)
	}
	if err != nil {
		return nil, err
	}
	if img.W != sw || img.H != sh {
		if img.W != h.width || img.H != h.height {
			return nil, fmt.Errorf("%w: %s decoded to %dx%d but its header says %dx%d",
				ErrCorrupt, formatName(h.format), img.W, img.H, h.width, h.height)
		}
		img = boxResize(img, eighths)
	}
	img = orient(img, h.orientation)

	w, ht := h.width, h.height
	if swapsAxes(h.orientation) {
		w, ht = ht, w
	}
	return &Result{
		Image:       img,
		Format:      h.format,
		Width:       w,
		Height:      ht,
		Scale:       float64(eighths) / 8,
		Orientation: h.orientation,
		Warning:     warning,
	}, nil
}

// Config reads only the header of data and returns its format and its
// dimensions after EXIF orientation, the same as Result.Width and
// Result.Height would be. It applies no limits.
func Config(data []byte) (format string, w, h int, err error) {
	hd, err := readHeader(data)
	if err != nil {
		return "", 0, 0, err
	}
	w, h = hd.width, hd.height
	if swapsAxes(hd.orientation) {
		w, h = h, w
	}
	return hd.format, w, h, nil
}

// decodeOther decodes a PNG, WebP or GIF at full size.
func decodeOther(h header, data []byte) (*raster.RGB, error) {
	switch h.format {
	case FormatPNG:
		m, err := safeDecode(h.format, data, png.Decode)
		if err != nil {
			return nil, err
		}
		return toRGB(m), nil
	case FormatWebP:
		m, err := safeDecode(h.format, data, webp.Decode)
		if err != nil {
			return nil, err
		}
		return webpToRGB(m), nil
	case FormatGIF:
		m, err := safeDecode(h.format, data, gif.Decode)
		if err != nil {
			return nil, err
		}
		return gifCanvas(m, h.width, h.height), nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, h.format)
}

// gifCanvas places a GIF frame, which may be smaller than the GIF's logical
// screen, on a white canvas of the screen's size.
func gifCanvas(frame image.Image, w, h int) *raster.RGB {
	b := frame.Bounds()
	if b == image.Rect(0, 0, w, h) {
		return toRGB(frame)
	}
	canvas := raster.New(w, h)
	for i := range canvas.Pix {
		canvas.Pix[i] = 0xFF
	}
	src := toRGB(frame)
	clip := b.Intersect(image.Rect(0, 0, w, h))
	for y := clip.Min.Y; y < clip.Max.Y; y++ {
		si := ((y-b.Min.Y)*src.W + clip.Min.X - b.Min.X) * 3
		copy(canvas.Pix[(y*w+clip.Min.X)*3:(y*w+clip.Max.X)*3], src.Pix[si:])
	}
	return canvas
}

// safeDecode runs a standard decoder on data, turning its panics and errors
// into this package's errors.
func safeDecode(format string, data []byte, fn func(io.Reader) (image.Image, error)) (m image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("%w: %s decoder panicked: %v", ErrCorrupt, formatName(format), r)
		}
	}()
	m, err = fn(bytes.NewReader(data))
	if err != nil {
		return nil, classify(format, err)
	}
	if b := m.Bounds(); b.Empty() {
		return nil, fmt.Errorf("%w: %s has zero dimensions", ErrCorrupt, formatName(format))
	}
	return m, nil
}

// classify wraps an error from a standard decoder in ErrUnsupported or
// ErrCorrupt. The decoders' messages already name their format.
func classify(format string, err error) error {
	var (
		jpegUnsupported jpeg.UnsupportedError
		pngUnsupported  png.UnsupportedError
	)
	switch {
	case errors.As(err, &jpegUnsupported), errors.As(err, &pngUnsupported):
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %s data is truncated", ErrCorrupt, formatName(format))
	default:
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
}

// formatName spells a format name for messages.
func formatName(format string) string {
	switch format {
	case FormatJPEG:
		return "JPEG"
	case FormatPNG:
		return "PNG"
	case FormatWebP:
		return "WebP"
	case FormatGIF:
		return "GIF"
	}
	return format
}
