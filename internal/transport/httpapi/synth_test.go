package httpapi_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/facelambda/facelambda/internal/tools/planar"
)

// planarFrames renders the fixture turned as a flat photo in front of the
// camera, one JPEG frame per (yaw, pitch) pose: a planar presentation
// attack, which the planar motion test must catch.
func planarFrames(t testing.TB, img []byte, poses [][2]float64) [][]byte {
	t.Helper()
	res, err := decode.Decode(img, decode.Options{})
	require.NoError(t, err)
	var frames [][]byte
	for _, p := range poses {
		m, err := planar.Turn(res.Image, p[0], p[1], 2.5)
		require.NoError(t, err)
		b, err := raster.EncodeJPEG(m, 90)
		require.NoError(t, err)
		frames = append(frames, b)
	}
	return frames
}
