package biometric_test

import (
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/testkit"
)

// service is the biometric service on the real models (skipped without the layers).
func service(t testing.TB) *biometric.Service { return biometrictest.Real(t) }

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testkit.Testdata(t, "faces", name))
	require.NoError(t, err)
	return b
}

func analyze(t *testing.T, name string, opt biometric.Options) *biometric.Analysis {
	t.Helper()
	a, err := service(t).Analyze(fixture(t, name), opt)
	require.NoError(t, err, name)
	return a
}

func TestSamePersonMatchesAtHigh(t *testing.T) {
	s := service(t)
	obama := analyze(t, "obama.jpg", biometric.Options{})
	obama2 := analyze(t, "obama2.jpg", biometric.Options{})
	biden := analyze(t, "biden.jpg", biometric.Options{})

	same, err := s.Compare(obama.Template, obama2.Template, calibration.Selfie, calibration.High)
	require.NoError(t, err)
	assert.True(t, *same.PossibleMatch, "obama vs obama2 at HIGH: %+v", same)
	assert.Greater(t, same.Score, 3500.0)
	assert.Less(t, same.FAR, 1e-4)

	diff, err := s.Compare(obama.Template, biden.Template, calibration.Selfie, calibration.High)
	require.NoError(t, err)
	assert.False(t, *diff.PossibleMatch, "obama vs biden at HIGH: %+v", diff)
	assert.Nil(t, diff.HighestLevel)
	assert.Greater(t, diff.FAR, 1e-2)
	assert.Less(t, diff.Score, 2500.0)
	assert.Greater(t, *same.SimilarityScore, *diff.SimilarityScore)
}

func TestFixtures(t *testing.T) {
	s := service(t)
	t.Run("two people", func(t *testing.T) {
		a := analyze(t, "two_people.jpg", biometric.Options{})
		assert.Equal(t, 2, a.FaceCount)
		assert.True(t, a.MultipleFace)
		_, err := s.Analyze(fixture(t, "two_people.jpg"), biometric.Options{Single: true})
		assertCode(t, err, fault.CodeMultipleFaces)
	})
	t.Run("no face", func(t *testing.T) {
		_, err := s.Analyze(fixture(t, "coffee.png"), biometric.Options{})
		assertCode(t, err, fault.CodeFaceNotFound)
	})
	t.Run("240p", func(t *testing.T) {
		low := analyze(t, "obama-240p.jpg", biometric.Options{})
		ref := analyze(t, "obama.jpg", biometric.Options{})
		c, err := s.Compare(ref.Template, low.Template, calibration.Selfie, calibration.High)
		require.NoError(t, err)
		assert.True(t, *c.PossibleMatch)
		assert.Less(t, low.Measures.InterEye, 40.0)
		assert.Less(t, low.Quality, ref.Quality, "a 240p face scores lower than a portrait")
		// Too few pixels between the eyes for enrolment.
		_, err = s.Analyze(fixture(t, "obama-240p.jpg"), biometric.Options{QualityMode: biometric.QualityEnrol})
		assertCode(t, err, fault.CodeQualityCheck)
	})
	t.Run("partial face", func(t *testing.T) {
		a := analyze(t, "obama_partial_face.jpg", biometric.Options{})
		assert.Greater(t, a.Measures.Truncation, 0.05, "the cut-off face is reported as truncated")
		_, err := s.Analyze(fixture(t, "obama_partial_face.jpg"), biometric.Options{QualityMode: biometric.QualityEnrol})
		assertCode(t, err, fault.CodeQualityCheck)
	})
	t.Run("portrait passes enrolment", func(t *testing.T) {
		a := analyze(t, "obama.jpg", biometric.Options{QualityMode: biometric.QualityEnrol, Single: true})
		assert.Greater(t, a.Quality, 100)
		assert.Greater(t, a.Measures.InterEye, 60.0)
		assert.Equal(t, 910, a.Width)
		// Eyes lie inside the face box, the image's left eye first.
		assert.Less(t, a.Landmarks.Eyes.X1, a.Landmarks.Eyes.X2)
		assert.Greater(t, a.Landmarks.Eyes.X1, a.Box.X)
		assert.Less(t, a.Landmarks.Eyes.X2, a.Box.X+a.Box.Width)
		assert.Len(t, a.Digest, 64)
	})
}

func TestRotationEnabledFindsTurnedFace(t *testing.T) {
	s := service(t)
	img := rotatedJPEG(t, fixture(t, "obama.jpg"), 1)
	_, err := s.Analyze(img, biometric.Options{})
	assertCode(t, err, fault.CodeFaceNotFound)
	a, err := s.Analyze(img, biometric.Options{RotationEnabled: true})
	require.NoError(t, err)
	assert.NotZero(t, a.Rotation)
	ref := analyze(t, "obama.jpg", biometric.Options{})
	c, err := s.Compare(ref.Template, a.Template, calibration.Selfie, calibration.High)
	require.NoError(t, err)
	assert.True(t, *c.PossibleMatch)
}

func TestBadImages(t *testing.T) {
	s := service(t)
	jpg := fixture(t, "obama.jpg")
	tests := []struct {
		name string
		img  []byte
		code string
	}{
		{"empty", nil, fault.CodeInvalidImage},
		{"text", []byte("hello, this is not an image at all"), fault.CodeUnsupportedImage},
		{"truncated jpeg", jpg[:len(jpg)/3], fault.CodeInvalidImage},
		{"header only", jpg[:200], fault.CodeInvalidImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Analyze(tt.img, biometric.Options{})
			assertCode(t, err, tt.code)
		})
	}
}

func assertCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	var be *fault.Error
	require.ErrorAs(t, err, &be)
	assert.Equal(t, code, be.Code, be.Message)
	assert.NotEmpty(t, be.Message)
}

// TestConcurrentAnalyze runs the shared engine from many goroutines: every
// result must equal the sequential one.
func TestConcurrentAnalyze(t *testing.T) {
	s := service(t)
	img := fixture(t, "obama2.jpg")
	want := analyze(t, "obama2.jpg", biometric.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.Analyze(img, biometric.Options{})
			if err != nil {
				errs <- err
				return
			}
			if a.Template.Base64() != want.Template.Base64() || a.Quality != want.Quality {
				errs <- assert.AnError
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal("concurrent analysis differs or fails:", err)
	}
}

func TestRGBAPNG(t *testing.T) {
	b, err := os.ReadFile(testkit.Testdata(t, "images", "obama_rgba.png"))
	require.NoError(t, err)
	a, err := service(t).Analyze(b, biometric.Options{})
	require.NoError(t, err)
	assert.Equal(t, "png", a.Format)
	assert.Equal(t, 1, a.FaceCount)
}
