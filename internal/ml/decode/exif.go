package decode

import (
	"bytes"
	"encoding/binary"
)

// tagOrientation is the TIFF/EXIF tag that holds the image orientation.
const tagOrientation = 0x0112

// exifHeader prefixes the TIFF structure in a JPEG APP1 segment; some WebP
// writers copy it into the EXIF chunk too.
var exifHeader = []byte("Exif\x00\x00")

// exifOrientation returns the orientation (1-8) stored in IFD0 of a
// TIFF-structured EXIF block, accepting the "Exif\0\0" prefix. It returns 1
// when the block is malformed, the tag is absent or its value is out of
// range. Every offset is bounds-checked, so hostile input can only make it
// return 1.
func exifOrientation(b []byte) int {
	b = bytes.TrimPrefix(b, exifHeader)
	if len(b) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return 1
	}
	ifd := uint64(order.Uint32(b[4:8]))
	if ifd < 8 || ifd+2 > uint64(len(b)) {
		return 1
	}
	n := uint64(order.Uint16(b[ifd:]))
	for i := range n {
		e := ifd + 2 + 12*i
		if e+12 > uint64(len(b)) {
			break
		}
		if order.Uint16(b[e:]) != tagOrientation {
			continue
		}
		// Type SHORT (3) is the standard; tolerate LONG (4) from sloppy writers.
		// Either way the single value is stored inline at offset 8.
		var v uint32
		switch order.Uint16(b[e+2:]) {
		case 3:
			v = uint32(order.Uint16(b[e+8:]))
		case 4:
			v = order.Uint32(b[e+8:])
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return int(v)
	}
	return 1
}

// swapsAxes reports whether orientation o rotates by 90 or 270 degrees (or
// transposes), swapping width and height.
func swapsAxes(o int) bool {
	return o >= 5 && o <= 8
}
