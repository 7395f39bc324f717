package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"

	"github.com/facelambda/facelambda/internal/ml/raster"
)

// maxJPEGScans bounds the number of scans in a JPEG. Real progressive files
// have about ten; hostile ones use thousands to burn CPU. libjpeg-turbo's
// TJFLAG_LIMITSCANS uses the same figure.
const maxJPEGScans = 500

var (
	markerEOI = []byte{0xFF, 0xD9}
	markerSOS = []byte{0xFF, 0xDA}
)

// jpegHeader is what scanJPEG learns from the marker segments that precede
// the first scan.
type jpegHeader struct {
	width, height int
	components    int
	precision     int
	sof           byte // the start-of-frame marker, 0xC0..0xCF
	orientation   int  // EXIF orientation, 1 when absent
	sos           int  // offset of the first start-of-scan marker
}

// isSOF reports whether marker m starts a frame (SOF0-SOF15 except DHT,
// JPG and DAC, which share the range).
func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}

// scanJPEG walks the marker segments from SOI to the first SOS, recording
// the frame header and the EXIF orientation. It never reads past the end of
// data and allocates nothing.
func scanJPEG(data []byte) (jpegHeader, error) {
	h := jpegHeader{orientation: 1}
	seenSOF, seenExif := false, false
	i := 2 // after SOI
	for {
		// Like libjpeg and image/jpeg, tolerate garbage before a marker
		// and any number of 0xFF fill bytes.
		for i < len(data) && data[i] != 0xFF {
			i++
		}
		for i < len(data) && data[i] == 0xFF {
			i++
		}
		if i >= len(data) {
			return h, fmt.Errorf("%w: JPEG is truncated before the image data", ErrCorrupt)
		}
		m := data[i]
		i++
		switch {
		case m == 0x00, m == 0x01, m == 0xD8, m >= 0xD0 && m <= 0xD7:
			continue // markers without a payload
		case m == 0xD9:
			return h, fmt.Errorf("%w: JPEG ends before the image data", ErrCorrupt)
		}
		if i+2 > len(data) {
			return h, fmt.Errorf("%w: JPEG is truncated in a marker segment", ErrCorrupt)
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 {
			return h, fmt.Errorf("%w: JPEG marker segment 0x%02X has invalid length %d", ErrCorrupt, m, n)
		}
		end := i + n
		if end > len(data) {
			return h, fmt.Errorf("%w: JPEG is truncated in marker segment 0x%02X", ErrCorrupt, m)
		}
		seg := data[i+2 : end]
		switch {
		case m == 0xDA:
			if !seenSOF {
				return h, fmt.Errorf("%w: JPEG scan before the frame header", ErrCorrupt)
			}
			h.sos = i - 2
			return h, nil
		case isSOF(m):
			if seenSOF {
				return h, fmt.Errorf("%w: JPEG has more than one frame header", ErrCorrupt)
			}
			seenSOF = true
			if len(seg) < 6 {
				return h, fmt.Errorf("%w: JPEG frame header too short", ErrCorrupt)
			}
			h.sof = m
			h.precision = int(seg[0])
			h.height = int(binary.BigEndian.Uint16(seg[1:]))
			h.width = int(binary.BigEndian.Uint16(seg[3:]))
			h.components = int(seg[5])
			if h.width == 0 || h.height == 0 {
				return h, fmt.Errorf("%w: JPEG has zero dimensions %dx%d", ErrCorrupt, h.width, h.height)
			}
		case m == 0xE1 && !seenExif && bytes.HasPrefix(seg, exifHeader):
			seenExif = true
			h.orientation = exifOrientation(seg)
		}
		i = end
	}
}

// checkJPEGTail rejects a JPEG whose entropy-coded data is truncated (no EOI
// marker after the first scan) or has too many scans. Entropy-coded data
// cannot contain 0xFF followed by anything but 0x00 or a restart marker, so
// both searches are exact up to marker segments between scans.
func checkJPEGTail(data []byte, h jpegHeader) error {
	tail := data[h.sos:]
	if bytes.LastIndex(tail, markerEOI) < 0 {
		return fmt.Errorf("%w: JPEG is truncated (no end-of-image marker)", ErrCorrupt)
	}
	if n := bytes.Count(tail, markerSOS); n > maxJPEGScans {
		return fmt.Errorf("%w: JPEG has %d scans, more than the %d allowed", ErrCorrupt, n, maxJPEGScans)
	}
	return nil
}

// decodeJPEG decodes a JPEG whose header has been checked: at the scale
// eighths/8 when libjpeg-turbo does the work, at full size otherwise.
func decodeJPEG(data []byte, h jpegHeader, eighths int, opt Options) (*raster.RGB, string, error) {
	if err := checkJPEGTail(data, h); err != nil {
		return nil, "", err
	}
	if !Turbo || opt.PureGo {
		img, err := decodeJPEGGo(data)
		return img, "", err
	}
	img, warning, turboErr := turboDecode(data, h, eighths)
	if !errors.Is(turboErr, errTurboFallback) {
		return img, warning, turboErr
	}
	// CMYK/YCCK, which TurboJPEG cannot convert to RGB, or a failure
	// image/jpeg may get past. If the Go decoder fails too, its error
	// classifies the file; libjpeg-turbo's message is kept as detail.
	img, err := decodeJPEGGo(data)
	if err != nil && !errors.Is(turboErr, errTurboColorspace) {
		err = fmt.Errorf("%w (%v)", err, turboErr)
	}
	return img, "", err
}

// decodeJPEGGo decodes a JPEG at full size with image/jpeg.
func decodeJPEGGo(data []byte) (*raster.RGB, error) {
	m, err := safeDecode(FormatJPEG, data, jpeg.Decode)
	if err != nil {
		return nil, err
	}
	return toRGB(m), nil
}

// Errors turboDecode returns to ask for the image/jpeg decoder instead.
var (
	errTurboFallback   = errors.New("libjpeg-turbo")
	errTurboColorspace = fmt.Errorf("%w: colour space needs the Go decoder", errTurboFallback)
)
