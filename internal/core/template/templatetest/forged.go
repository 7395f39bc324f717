// Package templatetest holds forged templates for tests: vectors a hostile
// client may send in a well-formed template (right encoder, right CRC) that
// no encoder produces.
package templatetest

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"math"

	"github.com/facelambda/facelambda/internal/core/template"
)

// Forged is one forged vector.
type Forged struct {
	Name   string
	Vector []float32
}

func constant(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// scaledUnit is a unit vector of n dimensions (equal components) times k.
func scaledUnit(n int, k float64) []float32 {
	return constant(n, float32(k/math.Sqrt(float64(n))))
}

// Vectors returns the forged vectors for an encoder of dims dimensions:
// constants of both signs and huge magnitudes, all zero, wrong dimensions
// (1, dims+1, the format's maximum), norms far from and just outside 1, and
// non-finite values (which the binary format itself refuses).
func Vectors(dims int) []Forged {
	nan := scaledUnit(dims, 1)
	nan[dims/2] = float32(math.NaN())
	inf := scaledUnit(dims, 1)
	inf[0] = float32(math.Inf(1))
	return []Forged{
		{"constant +1e38", constant(dims, 1e38)},
		{"constant -1e38", constant(dims, -1e38)},
		{"constant +1000", constant(dims, 1000)},
		{"constant -1000", constant(dims, -1000)},
		{"all zero", constant(dims, 0)},
		{"1 dimension", []float32{1}},
		{"dims+1 unit", scaledUnit(dims+1, 1)},
		{"4096 dimensions unit", scaledUnit(template.MaxDimensions, 1)},
		{"huge norm 1e30", scaledUnit(dims, 1e30)},
		{"tiny norm 1e-30", scaledUnit(dims, 1e-30)},
		{"norm 1.01", scaledUnit(dims, 1.01)},
		{"norm 0.999", scaledUnit(dims, 0.999)},
		{"NaN", nan},
		{"+Inf", inf},
	}
}

// Encode returns the standard base64 of a version 1 template of encoder
// and v with a valid CRC, written field by field as a hostile client would,
// so that values MarshalBinary refuses, such as NaN, are encoded too.
func Encode(encoder string, v []float32) string {
	b := []byte(template.Magic)
	b = binary.LittleEndian.AppendUint16(b, template.FormatVersion)
	b = append(b, byte(len(encoder)))
	b = append(b, encoder...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(b)
}
