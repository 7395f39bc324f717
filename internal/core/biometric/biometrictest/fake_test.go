package biometrictest_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/fault"
)

func TestFakeDetectsWhatPictureDraws(t *testing.T) {
	s, err := biometrictest.Service()
	require.NoError(t, err)
	two := biometrictest.Picture(640, 360, biometrictest.Face{ID: 1, X: 40, Y: 60, Size: 220}, biometrictest.Face{ID: 2, X: 380, Y: 100, Size: 160})
	for _, tc := range []struct {
		name  string
		img   []byte
		opt   biometric.Options
		faces int
		code  string
	}{
		{"portrait", biometrictest.Portrait(3), biometric.Options{QualityMode: biometric.QualityEnrol, Single: true}, 1, ""},
		{"two faces, subject", two, biometric.Options{}, 2, ""},
		{"two faces, single", two, biometric.Options{Single: true}, 0, fault.CodeMultipleFaces},
		{"no face", biometrictest.Picture(320, 240), biometric.Options{}, 0, fault.CodeFaceNotFound},
		{"small face fails ENROL", biometrictest.Picture(320, 240, biometrictest.Face{ID: 1, X: 100, Y: 80, Size: 60}),
			biometric.Options{QualityMode: biometric.QualityEnrol}, 0, fault.CodeQualityCheck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := s.Analyze(tc.img, tc.opt)
			if tc.code != "" {
				var fe *fault.Error
				require.True(t, errors.As(err, &fe), "%v", err)
				assert.Equal(t, tc.code, fe.Code)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.faces, a.FaceCount)
			assert.GreaterOrEqual(t, a.Quality, 100)
			assert.Less(t, a.Landmarks.Eyes.X1, a.Landmarks.Eyes.X2)
			assert.Len(t, a.Template.Vector, biometrictest.Dims)
		})
	}
}

func TestFakeIdentitiesMatchByColour(t *testing.T) {
	s, err := biometrictest.Service()
	require.NoError(t, err)
	tpl := func(img []byte) biometric.Analysis {
		a, err := s.Analyze(img, biometric.Options{})
		require.NoError(t, err)
		return *a
	}
	one := tpl(biometrictest.Portrait(1))
	// The same identity elsewhere in another picture is the same embedding.
	moved := tpl(biometrictest.Picture(400, 400, biometrictest.Face{ID: 1, X: 20, Y: 150, Size: 180}))
	other := tpl(biometrictest.Portrait(2))
	same, err := s.Compare(one.Template, moved.Template, calibration.Selfie, "")
	require.NoError(t, err)
	assert.InDelta(t, 1, same.Similarity, 1e-6)
	diff, err := s.Compare(one.Template, other.Template, calibration.Selfie, "")
	require.NoError(t, err)
	assert.Less(t, diff.Similarity, 0.3)
	assert.Greater(t, same.Score, diff.Score)
}
