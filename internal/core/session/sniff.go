package session

import "bytes"

// imageContentType names the format of an image the pipeline decoded
// (JPEG, PNG, GIF or WebP) as the MIME type a stored image is served with;
// other bytes are application/octet-stream. It answers as
// http.DetectContentType does for these formats.
func imageContentType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\xFF\xD8\xFF")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\x0D\x0A\x1A\x0A")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 14 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:14], []byte("WEBPVP")):
		return "image/webp"
	}
	return "application/octet-stream"
}
