package decode

import "encoding/binary"

// webpInfo is what scanWebP learns from a WebP file's RIFF chunks.
type webpInfo struct {
	orientation int  // from the EXIF chunk, 1 when absent
	animated    bool // the VP8X animation flag is set
}

// scanWebP walks the chunks of a RIFF WebP container looking for the VP8X
// flags and the EXIF chunk, which follows the image data. Malformed or truncated chunk lists end the walk
// quietly: the pixel decoder reports those.
func scanWebP(data []byte) webpInfo {
	info := webpInfo{orientation: 1}
	// "RIFF" size "WEBP", then chunks of FourCC, little-endian size, payload
	// padded to an even length.
	for i := 12; i+8 <= len(data); {
		id := string(data[i : i+4])
		n := uint64(binary.LittleEndian.Uint32(data[i+4:]))
		start := uint64(i + 8)
		end := start + n
		if end > uint64(len(data)) {
			break
		}
		payload := data[start:end]
		switch id {
		case "VP8X":
			const animationFlag = 1 << 1
			if len(payload) > 0 && payload[0]&animationFlag != 0 {
				info.animated = true
			}
		case "EXIF":
			info.orientation = exifOrientation(payload)
			return info
		}
		i = int(end + n&1)
	}
	return info
}
