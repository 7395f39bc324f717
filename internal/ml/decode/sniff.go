package decode

import (
	"bytes"
	"fmt"
)

// Format names reported in [Result.Format] and by [Config].
const (
	FormatJPEG = "jpeg"
	FormatPNG  = "png"
	FormatWebP = "webp"
	FormatGIF  = "gif"
)

var (
	magicJPEG  = []byte{0xFF, 0xD8, 0xFF}
	magicPNG   = []byte("\x89PNG\r\n\x1a\n")
	magicGIF87 = []byte("GIF87a")
	magicGIF89 = []byte("GIF89a")
)

// sniff identifies the format from the leading magic bytes. For data of no
// supported format it returns an error wrapping ErrUnsupported that names the
// format when it is a well-known one (so "photo.jpg" that is really HEIC from
// a phone gets a useful message).
func sniff(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, magicJPEG):
		return FormatJPEG, nil
	case bytes.HasPrefix(data, magicPNG):
		return FormatPNG, nil
	case bytes.HasPrefix(data, magicGIF87), bytes.HasPrefix(data, magicGIF89):
		return FormatGIF, nil
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return FormatWebP, nil
	}
	if name := knownFormat(data); name != "" {
		return "", fmt.Errorf("%w: %s; upload JPEG, PNG, WebP or GIF", ErrUnsupported, name)
	}
	return "", fmt.Errorf("%w: not a JPEG, PNG, WebP or GIF image", ErrUnsupported)
}

// knownFormat names common image formats this package does not decode.
func knownFormat(data []byte) string {
	if len(data) >= 12 && string(data[4:8]) == "ftyp" {
		switch string(data[8:12]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return "HEIC/HEIF"
		case "avif", "avis":
			return "AVIF"
		}
	}
	switch {
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "TIFF"
	case bytes.HasPrefix(data, []byte("BM")) && len(data) >= 26:
		return "BMP"
	case bytes.HasPrefix(data, []byte{0xFF, 0x0A}), bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")):
		return "JPEG XL"
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "PDF"
	}
	return ""
}
