package biometric_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// rotatedJPEG returns the image turned a quarter clockwise, re-encoded
// without EXIF, as a phone photo saved sideways.
func rotatedJPEG(t *testing.T, b []byte) []byte {
	t.Helper()
	res, err := decode.Decode(b, decode.Options{})
	require.NoError(t, err)
	out, err := raster.EncodeJPEG(res.Image.Rotate90(1), 90)
	require.NoError(t, err)
	return out
}
