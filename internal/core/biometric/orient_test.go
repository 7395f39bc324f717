package biometric_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/ml/engine/enginetest"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/facelambda/facelambda/internal/testkit"
)

// orientationCase is obama2.jpg stored turned and tagged with an EXIF
// orientation; fix is the clockwise turn (degrees) that makes the face
// upright after the EXIF orientation is applied (0: it is upright).
type orientationCase struct {
	name     string
	quarters int // quarter turns clockwise applied to the stored pixels
	exif     uint16
	fix      int
}

func orientationCases() []orientationCase {
	return []orientationCase{
		{"upright", 0, 0, 0},
		// Stored turned, with the EXIF orientation that turns them back.
		{"exif 3 upright after exif", 2, 3, 0},
		{"exif 6 upright after exif", 3, 6, 0},
		{"exif 8 upright after exif", 1, 8, 0},
		// Upright pixels with an EXIF orientation that turns them.
		{"exif 3 upside down after exif", 0, 3, 180},
		{"exif 6 sideways after exif", 0, 6, 270},
		{"exif 8 sideways after exif", 0, 8, 90},
		// Turned pixels without EXIF.
		{"turned 90", 1, 0, 270},
		{"turned 180", 2, 0, 180},
		{"turned 270", 3, 0, 90},
	}
}

func (c orientationCase) image(t *testing.T) []byte {
	img := rotatedJPEG(t, fixture(t, "obama2.jpg"), c.quarters)
	if c.exif != 0 {
		img = withOrientation(img, c.exif)
	}
	return img
}

// TestOrientation: a face that is not upright is found upright with
// imageRotationEnabled, reported with the turn that made it so and matched
// with an upright photo of the same person; without it, it is refused as a
// quality failure in every quality mode. EXIF orientation is applied first.
func TestOrientation(t *testing.T) {
	s := service(t)
	ref := analyze(t, "obama.jpg", biometric.Options{})
	for _, tc := range orientationCases() {
		t.Run(tc.name, func(t *testing.T) {
			img := tc.image(t)
			a, err := s.Analyze(img, biometric.Options{RotationEnabled: true})
			require.NoError(t, err)
			assert.Equal(t, tc.fix, a.Rotation)
			assert.Greater(t, a.Quality, 100)
			c, err := s.Compare(ref.Template, a.Template, calibration.Selfie, calibration.High)
			require.NoError(t, err)
			assert.True(t, *c.PossibleMatch, "similarity %.3f with the upright photo", c.Similarity)

			for _, mode := range []biometric.QualityMode{biometric.QualityDisabled, biometric.QualityVerify, biometric.QualityEnrol} {
				b, err := s.Analyze(img, biometric.Options{QualityMode: mode})
				if tc.fix == 0 {
					require.NoError(t, err, mode)
					assert.Zero(t, b.Rotation)
					assert.Equal(t, a.Template.Base64(), b.Template.Base64())
					continue
				}
				assertCode(t, err, fault.CodeQualityCheck)
				var be *fault.Error
				require.ErrorAs(t, err, &be)
				assert.Equal(t, biometric.CheckUpright, be.Check)
				assert.Contains(t, be.Message, fmt.Sprintf("turned %d degrees", tc.fix))
			}
		})
	}
}

// countingEngine counts the detector runs of an engine.
type countingEngine struct {
	biometric.Engine
	detects atomic.Int32
}

func (c *countingEngine) Detect(img *raster.RGB) ([]face.Detection, error) {
	c.detects.Add(1)
	return c.Engine.Detect(img)
}

// TestUprightCostsNothing: an upright face is taken as upright on one
// detector run, as before; a turned one pays for the other orientations.
func TestUprightCostsNothing(t *testing.T) {
	eng := enginetest.Open(t)
	ce := &countingEngine{Engine: eng}
	s, err := biometric.New(ce, biometric.Config{Encoder: eng.Encoder, Dimensions: eng.EmbeddingDims()})
	require.NoError(t, err)
	for _, name := range []string{"obama.jpg", "obama2.jpg", "biden.jpg", "biden2.jpg", "obama-240p.jpg", "obama_partial_face.jpg", "two_people.jpg"} {
		t.Run(name, func(t *testing.T) {
			ce.detects.Store(0)
			a, err := s.Analyze(fixture(t, name), biometric.Options{RotationEnabled: true})
			require.NoError(t, err)
			assert.Zero(t, a.Rotation)
			assert.EqualValues(t, 1, ce.detects.Load())
		})
	}
	ce.detects.Store(0)
	_, err = s.Analyze(rotatedJPEG(t, fixture(t, "obama2.jpg"), 2), biometric.Options{RotationEnabled: true})
	require.NoError(t, err)
	assert.EqualValues(t, 4, ce.detects.Load())
}

// TestPosedFaceNotTurned: a strongly posed upright face (yaw 50, pitch 25
// degrees) measures a little higher upside down, but too low for that
// orientation to be taken as the upright one.
func TestPosedFaceNotTurned(t *testing.T) {
	b, err := os.ReadFile(testkit.Shared(t, "data", "lfw", "lfw-deepfunneled", "Yasser_Arafat", "Yasser_Arafat_0004.jpg"))
	require.NoError(t, err)
	a, err := service(t).Analyze(b, biometric.Options{})
	require.NoError(t, err)
	assert.Zero(t, a.Rotation)
}
