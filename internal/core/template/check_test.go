package template_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/core/template/templatetest"
	"github.com/facelambda/facelambda/internal/ml/face"
)

const encoder = "fr_feature-512-v1"

// unit returns a deterministic 512-d vector normalised in float32 the way
// the encoder's output is (face.Normalize).
func unit(seed float64) []float32 {
	v := make([]float32, 512)
	var s float64
	for i := range v {
		v[i] = float32(math.Sin(float64(i)*seed + 1))
		s += float64(v[i]) * float64(v[i])
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// TestCheckRefusesForged: every forged vector, sent in a well-formed
// template with the right encoder and CRC, is refused by the parser or by
// Check with an error wrapping ErrMalformed.
func TestCheckRefusesForged(t *testing.T) {
	for _, f := range templatetest.Vectors(512) {
		t.Run(f.Name, func(t *testing.T) {
			tpl, err := template.ParseBase64(templatetest.Encode(encoder, f.Vector), encoder)
			if err == nil {
				err = template.Check(tpl.Vector, 512)
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, template.ErrMalformed)
		})
	}
}

// TestCheckAcceptsEncoderOutput: float32-normalised vectors pass, after a
// round trip through the binary and base64 forms, which is bit exact; their
// norm is within 1e-6 of 1, far inside UnitTolerance.
func TestCheckAcceptsEncoderOutput(t *testing.T) {
	for _, seed := range []float64{0.1, 0.37, 1.3, 2.9, 7.7} {
		v := unit(seed)
		tpl := template.Template{Encoder: encoder, Vector: v}
		got, err := template.ParseBase64(tpl.Base64(), encoder)
		require.NoError(t, err)
		assert.Equal(t, v, got.Vector, "round trip is bit exact")
		require.NoError(t, template.Check(got.Vector, 512))
		var s float64
		for _, x := range got.Vector {
			s += float64(x) * float64(x)
		}
		assert.InDelta(t, 1, math.Sqrt(s), 1e-6)
	}
}

func TestCheckBounds(t *testing.T) {
	v := unit(0.5)
	scaled := func(k float32) []float32 {
		out := make([]float32, len(v))
		for i := range v {
			out[i] = v[i] * k
		}
		return out
	}
	assert.NoError(t, template.Check(scaled(1+template.UnitTolerance/2), 512))
	assert.NoError(t, template.Check(scaled(1-template.UnitTolerance/2), 512))
	assert.ErrorIs(t, template.Check(scaled(1+3*template.UnitTolerance), 512), template.ErrInvalidVector)
	assert.ErrorIs(t, template.Check(scaled(1-3*template.UnitTolerance), 512), template.ErrInvalidVector)
	assert.ErrorIs(t, template.Check(v, 511), template.ErrInvalidVector)
}

// TestDigest: the digest is the SHA-256 of the decoded template bytes, the
// same whatever base64 alphabet carried them.
func TestDigest(t *testing.T) {
	tpl := template.Template{Encoder: encoder, Vector: unit(0.2)}
	b, err := tpl.MarshalBinary()
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	assert.Equal(t, hex.EncodeToString(sum[:]), tpl.Digest())
	again, err := template.ParseBase64(base64.RawURLEncoding.EncodeToString(b), encoder)
	require.NoError(t, err)
	assert.Equal(t, tpl.Digest(), again.Digest())
	assert.Empty(t, template.Template{}.Digest())
}

// FuzzCheckAndCosine: for any well-formed template, Check either refuses
// it or accepts a unit vector of the asked dimensions, and the cosine of
// its vector with itself and with a unit vector is finite and in [-1, 1].
func FuzzCheckAndCosine(f *testing.F) {
	for _, fv := range templatetest.Vectors(16) {
		b, _ := base64.StdEncoding.DecodeString(templatetest.Encode(encoder, fv.Vector))
		f.Add(b)
	}
	good := template.Template{Encoder: encoder, Vector: unit(0.3)[:16]}
	b, _ := good.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		tpl, err := template.Parse(b, "")
		if err != nil {
			return
		}
		v := tpl.Vector
		if err := template.Check(v, len(v)); err == nil {
			var s float64
			for _, x := range v {
				s += float64(x) * float64(x)
			}
			if math.Abs(math.Sqrt(s)-1) > template.UnitTolerance {
				t.Fatalf("Check accepted a norm of %v", math.Sqrt(s))
			}
		} else if !errors.Is(err, template.ErrInvalidVector) {
			t.Fatalf("Check error %v does not wrap ErrInvalidVector", err)
		}
		other := make([]float32, len(v))
		other[0] = 1
		for _, c := range []float64{face.Cosine(v, v), face.Cosine(v, other)} {
			if math.IsNaN(c) || math.IsInf(c, 0) || c < -1 || c > 1 {
				t.Fatalf("cosine %v", c)
			}
		}
	})
}
