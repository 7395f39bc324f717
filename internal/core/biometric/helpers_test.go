package biometric_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// rotatedJPEG returns the image turned q quarters clockwise, re-encoded
// without EXIF, as a phone photo saved sideways.
func rotatedJPEG(t *testing.T, b []byte, q int) []byte {
	t.Helper()
	res, err := decode.Decode(b, decode.Options{})
	require.NoError(t, err)
	out, err := raster.EncodeJPEG(res.Image.Rotate90(q), 90)
	require.NoError(t, err)
	return out
}

// withOrientation returns jpg with an APP1 Exif segment, inserted after
// SOI, whose IFD0 holds orientation o (big-endian TIFF, as cameras write).
func withOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte("MM\x00*\x00\x00\x00\x08") // IFD0 at offset 8
	tiff = binary.BigEndian.AppendUint16(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112) // Orientation, SHORT, count 1
	tiff = binary.BigEndian.AppendUint16(tiff, 3)
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, o)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // padding, no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xFF, 0xE1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}
