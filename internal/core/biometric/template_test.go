package biometric_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/core/template/templatetest"
)

// TestEncoderOutputIsUnit measures what the encoder emits: 512 float32
// values of norm within 1e-6 of 1, which survive the template format bit
// for bit and pass ParseTemplate (the basis of template.UnitTolerance).
func TestEncoderOutputIsUnit(t *testing.T) {
	s := service(t)
	require.Equal(t, 512, s.Dimensions())
	for _, name := range []string{"obama.jpg", "obama2.jpg", "biden.jpg", "biden2.jpg", "two_people.jpg"} {
		a := analyze(t, name, biometric.Options{})
		var n float64
		for _, x := range a.Template.Vector {
			n += float64(x) * float64(x)
		}
		assert.InDelta(t, 1, math.Sqrt(n), 1e-6, name)
		got, err := s.ParseTemplate("template", a.Template.Base64())
		require.NoError(t, err, name)
		assert.Equal(t, a.Template, got, name)
	}
}

// TestForgedTemplatesRefused: a well-formed template (right encoder, right
// CRC) whose vector no encoder emits is a 400 INVALID_TEMPLATE, at parsing
// and again at comparison.
func TestForgedTemplatesRefused(t *testing.T) {
	s := service(t)
	real := analyze(t, "obama.jpg", biometric.Options{}).Template
	for _, f := range templatetest.Vectors(s.Dimensions()) {
		t.Run(f.Name, func(t *testing.T) {
			_, err := s.ParseTemplate("reference.template", templatetest.Encode(s.Encoder(), f.Vector))
			var be *fault.Error
			require.True(t, errors.As(err, &be), "error %v", err)
			assert.Equal(t, fault.CodeInvalidTemplate, be.Code)
			assert.Contains(t, be.Message, "reference.template")

			forged := template.Template{Encoder: s.Encoder(), Vector: f.Vector}
			_, err = s.Compare(forged, real, calibration.Selfie, calibration.Highest)
			require.True(t, errors.As(err, &be), "error %v", err)
			assert.Equal(t, fault.CodeInvalidTemplate, be.Code)
		})
	}
}
