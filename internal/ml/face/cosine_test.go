package face_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/facelambda/facelambda/internal/ml/face"
)

func constant(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestCosineAnyInput: whatever the vectors, Cosine is finite and in
// [-1, 1]; forged vectors of huge constants neither overflow nor pass for
// a perfect match of an unrelated unit vector.
func TestCosineAnyInput(t *testing.T) {
	unit := face.Normalize(func() []float32 {
		v := make([]float32, 512)
		for i := range v {
			v[i] = float32(math.Sin(float64(i)))
		}
		return v
	}())
	nan := constant(512, 0.01)
	nan[7] = float32(math.NaN())
	inf := constant(512, 0.01)
	inf[3] = float32(math.Inf(-1))
	tests := []struct {
		name string
		a, b []float32
		want float64
	}{
		{"two +1e38 constants", constant(512, 1e38), constant(512, 1e38), 1},
		{"two -1e38 constants", constant(512, -1e38), constant(512, -1e38), 1},
		{"+1e38 and -1e38", constant(512, 1e38), constant(512, -1e38), -1},
		{"max float32 in 4096 dims", constant(4096, math.MaxFloat32), constant(4096, math.MaxFloat32), 1},
		{"-1000 against a unit vector", constant(512, -1000), unit, face.Cosine(constant(512, -1), unit)},
		{"tiny norms", constant(512, 1e-44), constant(512, 1e-44), 1},
		{"all zero", constant(512, 0), unit, 0},
		{"both zero", constant(512, 0), constant(512, 0), 0},
		{"different lengths", constant(513, 1), constant(512, 1), 0},
		{"one dimension", []float32{-1000}, []float32{-1000}, 1},
		{"empty", nil, nil, 0},
		{"NaN", nan, unit, 0},
		{"infinite", inf, unit, 0},
		{"same unit vector", unit, unit, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := face.Cosine(tc.a, tc.b)
			assert.False(t, math.IsNaN(c) || math.IsInf(c, 0), "cosine %v", c)
			assert.GreaterOrEqual(t, c, -1.0)
			assert.LessOrEqual(t, c, 1.0)
			assert.InDelta(t, tc.want, c, 1e-6)
		})
	}
}

// TestCosineScaleFree: the cosine of a scaled vector is that of the unit
// vector, so a magnitude cannot buy similarity.
func TestCosineScaleFree(t *testing.T) {
	a := face.Normalize([]float32{1, 2, 3, 4})
	b := face.Normalize([]float32{4, -3, 2, 1})
	want := face.Cosine(a, b)
	for _, k := range []float32{-1e30, -1000, 1e-20, 3, 1e30} {
		s := make([]float32, len(a))
		for i := range a {
			s[i] = a[i] * k
		}
		sign := 1.0
		if k < 0 {
			sign = -1
		}
		assert.InDelta(t, sign*want, face.Cosine(s, b), 1e-6, "scale %g", k)
	}
}
