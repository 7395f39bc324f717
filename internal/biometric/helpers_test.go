package biometric_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/decode"
)

// rotatedJPEG returns the image turned a quarter clockwise, re-encoded
// without EXIF, as a phone photo saved sideways.
func rotatedJPEG(t *testing.T, b []byte) []byte {
	t.Helper()
	res, err := decode.Decode(b, decode.Options{})
	require.NoError(t, err)
	r := res.Image.Rotate90(1)
	img := image.NewRGBA(image.Rect(0, 0, r.W, r.H))
	for i := 0; i < r.W*r.H; i++ {
		copy(img.Pix[i*4:i*4+3], r.Pix[i*3:i*3+3])
		img.Pix[i*4+3] = 255
	}
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}))
	return buf.Bytes()
}
