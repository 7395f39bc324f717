package gallery

import (
	"fmt"
	"math"
	"strings"
	"sync"
)

// Encoding is how an index (or a shard) stores its vectors.
type Encoding uint8

// Encodings. The numeric values are written into shards: never renumber.
const (
	// Float32 keeps the vectors as they are: 4 bytes a dimension, exact.
	Float32 Encoding = 1
	// Float16 stores IEEE 754 half-precision values (2 bytes a dimension),
	// widened to float32 while scanning.
	Float16 Encoding = 2
	// Int8 stores each vector as signed bytes in [-127, 127] with one
	// float32 scale per vector (symmetric, scale = max|x| / 127), scanned
	// with int32 accumulators, one multiplication per dimension.
	Int8 Encoding = 3
	// Int7 stores each vector as signed bytes in [-63, 63] with one float32
	// scale per vector (scale = max|x| / 63). The narrower range lets the
	// scan compute four products with one 64-bit multiplication (see
	// dotInt7), four times fewer multiplications than Int8.
	Int7 Encoding = 4
	// Bits2 stores each dimension on 2 bits (four levels, step = the
	// vector's RMS), as two bit-planes scanned with AND and POPCNT: a coarse
	// score for choosing the rows to re-score, 16 times fewer bytes than
	// Float32. Not a shard encoding (it is derived when an index is built).
	Bits2 Encoding = 5
)

// DefaultEncoding is the encoding [Builder.Build] uses when none is given,
// chosen by measurement (docs/benchmarks.md, "1:N identification"): the
// fastest scan whose best rows, re-scored exactly, give the exact top
// candidate.
const DefaultEncoding = Bits2

var encodingNames = map[Encoding]string{Float32: "float32", Float16: "float16", Int8: "int8", Int7: "int7", Bits2: "bits2"}

// Encodings lists every encoding, from the most exact to the most compact.
func Encodings() []Encoding { return []Encoding{Float32, Float16, Int8, Int7, Bits2} }

func (e Encoding) String() string {
	if s, ok := encodingNames[e]; ok {
		return s
	}
	return fmt.Sprintf("Encoding(%d)", uint8(e))
}

// Valid reports whether e is a known encoding.
func (e Encoding) Valid() bool { _, ok := encodingNames[e]; return ok }

// BytesPerVector is the storage of one vector of dims dimensions in this
// encoding, scale included (not the class id).
func (e Encoding) BytesPerVector(dims int) int {
	switch e {
	case Float32:
		return 4 * dims
	case Float16:
		return 2 * dims
	case Int8, Int7:
		return dims + 4
	case Bits2:
		return 16*((dims+63)/64) + 8
	}
	return 0
}

// ParseEncoding returns the encoding named s (float32, float16, int8, int7,
// bits2; case-insensitive; "f32", "f16", "fp16" and "half" are accepted too).
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "float32", "f32", "fp32":
		return Float32, nil
	case "float16", "f16", "fp16", "half":
		return Float16, nil
	case "int8", "i8":
		return Int8, nil
	case "int7", "i7":
		return Int7, nil
	case "bits2", "2bit":
		return Bits2, nil
	}
	return 0, fmt.Errorf("gallery: unknown encoding %q (float32, float16, int8, int7, bits2)", s)
}

// quantize writes the symmetric codes of v into dst (len(v)) and returns the
// scale: v[i] ~= scale * dst[i]. A zero vector has scale 0 and zero codes.
func quantize(dst []int8, v []float32, levels float32) float32 {
	var mb uint32 // the largest |x|, on the float bits (no unpredictable branches)
	for _, x := range v {
		mb = max(mb, math.Float32bits(x)&0x7fffffff)
	}
	m := math.Float32frombits(mb)
	if m == 0 {
		clear(dst)
		return 0
	}
	// Round half up without math.Round (slow without SSE4.1): x*inv is in
	// [-levels, levels], so x*inv + levels + 0.5 is positive and truncating
	// it floors it.
	inv := levels / m
	off := levels + 0.5
	for i, x := range v {
		c := int32(x*inv+off) - int32(levels)
		dst[i] = int8(min(max(c, -int32(levels)), int32(levels)))
	}
	return m / levels
}

// float16 conversions (IEEE 754 binary16, round to nearest even).

func toFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // overflow
		return sign | 0x7c00
	case exp-127 >= -14: // normal
		// Round to nearest even without a branch: add just under half an
		// ulp, plus one when the kept part is odd; a carry out of the
		// mantissa moves into the exponent (up to Inf): both correct.
		e := uint32(exp - 127 + 15)
		m := mant + 0xfff + (mant>>13)&1
		return sign | uint16(e<<10+m>>13)
	case exp-127 >= -25: // subnormal half
		m := mant | 0x800000 // implicit bit
		shift := uint32(-14-(exp-127)) + 13
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	return sign // underflow to zero
}

func fromFloat16(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// subnormal: mant * 2^-24
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

var (
	f16Once  sync.Once
	f16Table *[1 << 16]float32
)

// half returns the float16 -> float32 table (256 KiB, built once).
func half() *[1 << 16]float32 {
	f16Once.Do(func() {
		t := new([1 << 16]float32)
		for i := range t {
			t[i] = fromFloat16(uint16(i))
		}
		f16Table = t
	})
	return f16Table
}
