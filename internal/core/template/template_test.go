package template

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const enc512 = "fr_feature-512-v1"

func vector(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Sin(float64(i)*0.37)) / 16
	}
	return v
}

func mustMarshal(t testing.TB, tp Template) []byte {
	t.Helper()
	b, err := tp.MarshalBinary()
	require.NoError(t, err)
	return b
}

// withCRC replaces the trailing checksum of b by a correct one.
func withCRC(b []byte) []byte {
	b = append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
	return b
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		tp   Template
	}{
		{"one dimension", Template{Encoder: "e", Vector: []float32{0.5}}},
		{"512 dimensions", Template{Encoder: enc512, Vector: vector(512)}},
		{"max dimensions", Template{Encoder: enc512, Vector: vector(MaxDimensions)}},
		{"max encoder length", Template{Encoder: strings.Repeat("x", MaxEncoderLen), Vector: vector(3)}},
		{"special values", Template{Encoder: enc512, Vector: []float32{
			0, float32(math.Copysign(0, -1)), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustMarshal(t, tt.tp)
			assert.Len(t, b, 13+len(tt.tp.Encoder)+4*len(tt.tp.Vector))
			assert.Equal(t, Magic, string(b[:4]))

			got, err := Parse(b, tt.tp.Encoder)
			require.NoError(t, err)
			assert.Equal(t, tt.tp.Encoder, got.Encoder)
			require.Len(t, got.Vector, len(tt.tp.Vector))
			for i := range got.Vector {
				assert.Equal(t, math.Float32bits(tt.tp.Vector[i]), math.Float32bits(got.Vector[i]), "value %d", i)
			}

			got, err = Parse(b, "") // any encoder
			require.NoError(t, err)
			assert.Equal(t, tt.tp.Encoder, got.Encoder)

			s := tt.tp.Base64()
			for _, variant := range []string{
				s,
				"  \n" + s + "\t\n",
				base64.RawStdEncoding.EncodeToString(b),
				base64.URLEncoding.EncodeToString(b),
				base64.RawURLEncoding.EncodeToString(b),
			} {
				got, err := ParseBase64(variant, tt.tp.Encoder)
				require.NoError(t, err)
				assert.Equal(t, b, mustMarshal(t, got))
			}
		})
	}
}

func TestParseDoesNotAlias(t *testing.T) {
	b := mustMarshal(t, Template{Encoder: enc512, Vector: []float32{1, 2}})
	got, err := Parse(b, enc512)
	require.NoError(t, err)
	clear(b)
	assert.Equal(t, []float32{1, 2}, got.Vector)
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		tp   Template
	}{
		{"empty encoder", Template{Vector: vector(4)}},
		{"long encoder", Template{Encoder: strings.Repeat("x", MaxEncoderLen+1), Vector: vector(4)}},
		{"non-ASCII encoder", Template{Encoder: "fr_feature-512-v1é", Vector: vector(4)}},
		{"no dimensions", Template{Encoder: enc512}},
		{"too many dimensions", Template{Encoder: enc512, Vector: vector(MaxDimensions + 1)}},
		{"NaN", Template{Encoder: enc512, Vector: []float32{1, float32(math.NaN())}}},
		{"Inf", Template{Encoder: enc512, Vector: []float32{float32(math.Inf(-1))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.tp.MarshalBinary()
			assert.ErrorIs(t, err, ErrMalformed)
			assert.Empty(t, tt.tp.Base64())
		})
	}
}

func TestParseErrors(t *testing.T) {
	valid := mustMarshal(t, Template{Encoder: enc512, Vector: vector(8)})
	dimsOff := 7 + len(enc512)

	patch := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), valid...))
	}
	nanTemplate := patch(func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[dimsOff+2+4:], math.Float32bits(float32(math.NaN())))
		return withCRC(b)
	})
	infTemplate := patch(func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[dimsOff+2:], math.Float32bits(float32(math.Inf(1))))
		return withCRC(b)
	})
	zeroDims := withCRC(append(append([]byte(nil), valid[:dimsOff]...), 0, 0, 0, 0, 0, 0))
	bigDims := patch(func(b []byte) []byte {
		binary.LittleEndian.PutUint16(b[dimsOff:], MaxDimensions+1)
		return b
	})
	dimsMismatch := patch(func(b []byte) []byte {
		binary.LittleEndian.PutUint16(b[dimsOff:], 7)
		return withCRC(b)
	})
	badEncoder := patch(func(b []byte) []byte {
		b[8] = 0x01
		return withCRC(b)
	})
	emptyEncoder := withCRC(append([]byte("FLTP\x01\x00\x00\x01\x00\x00\x00\x80\x3f"), 0, 0, 0, 0))

	tests := []struct {
		name    string
		in      []byte
		want    error
		message string
	}{
		{"empty", nil, ErrMalformed, "signature"},
		{"bad magic", patch(func(b []byte) []byte { b[0] = 'X'; return b }), ErrMalformed, "signature"},
		{"magic only", valid[:4], ErrMalformed, "truncated"},
		{"truncated header", valid[:10], ErrMalformed, "truncated"},
		{"truncated values", valid[:len(valid)-5], ErrMalformed, "truncated"},
		{"missing checksum", valid[:len(valid)-4], ErrMalformed, "truncated"},
		{"trailing bytes", append(append([]byte(nil), valid...), 0), ErrMalformed, "trailing"},
		{"bad checksum", patch(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrMalformed, "checksum"},
		{"flipped value bit", patch(func(b []byte) []byte { b[dimsOff+3] ^= 0x10; return b }), ErrMalformed, "checksum"},
		{"dims mismatch", dimsMismatch, ErrMalformed, "trailing"},
		{"zero dims", zeroDims, ErrMalformed, "no dimensions"},
		{"too many dims", bigDims, ErrMalformed, "limit is 4096"},
		{"NaN value", nanTemplate, ErrMalformed, "value 1 is NaN"},
		{"Inf value", infTemplate, ErrMalformed, "value 0 is +Inf"},
		{"control byte in encoder", badEncoder, ErrMalformed, "encoder id"},
		{"empty encoder", emptyEncoder, ErrMalformed, "empty encoder"},
		{"newer version", patch(func(b []byte) []byte { b[4] = 2; return b }), ErrUnsupportedFormat, "version 2"},
		{"version 0", patch(func(b []byte) []byte { b[4] = 0; return b }), ErrUnsupportedFormat, "version 0"},
		{"newer version, other layout", []byte("FLTP\x07\x00"), ErrUnsupportedFormat, "version 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, enc512)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.message)
			assert.Zero(t, got)
			for _, other := range []error{ErrMalformed, ErrUnsupportedFormat, ErrEncoderMismatch} {
				if other != tt.want {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

func TestEncoderMismatch(t *testing.T) {
	old := mustMarshal(t, Template{Encoder: "fr_feature-512-v0", Vector: vector(8)})
	_, err := Parse(old, enc512)
	require.ErrorIs(t, err, ErrEncoderMismatch)
	assert.NotErrorIs(t, err, ErrMalformed)
	assert.EqualError(t, err, "template encoder fr_feature-512-v0 is not supported by this service "+
		"(current encoder fr_feature-512-v1); re-create the template from an image")
	var me *EncoderMismatchError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "fr_feature-512-v0", me.Encoder)
	assert.Equal(t, enc512, me.Want)

	_, err = ParseBase64(base64.StdEncoding.EncodeToString(old), enc512)
	assert.ErrorIs(t, err, ErrEncoderMismatch)

	// A corrupted template is malformed, whatever its encoder.
	old[len(old)-1] ^= 0xff
	_, err = Parse(old, enc512)
	assert.ErrorIs(t, err, ErrMalformed)
	assert.NotErrorIs(t, err, ErrEncoderMismatch)
}

func TestParseBase64Errors(t *testing.T) {
	valid := Template{Encoder: enc512, Vector: vector(4)}.Base64()
	tests := []struct {
		name, in, message string
	}{
		{"empty", "", "empty"},
		{"blank", " \n\t", "empty"},
		{"bad characters", "FLTP!!!!", "invalid base64"},
		{"mixed alphabets", "ab+-" + valid, "invalid base64"},
		{"too long", strings.Repeat("A", base64.StdEncoding.EncodedLen(MaxSize)+1), "limit"},
		{"truncated", valid[:len(valid)-8], "truncated"},
		{"not a template", base64.StdEncoding.EncodeToString([]byte("hello, world")), "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBase64(tt.in, enc512)
			assert.ErrorIs(t, err, ErrMalformed)
			assert.ErrorContains(t, err, tt.message)
		})
	}
}

func FuzzParse(f *testing.F) {
	valid := mustMarshal(f, Template{Encoder: enc512, Vector: vector(16)})
	for _, n := range []int{0, 3, 4, 6, 7, 10, 24, 26, len(valid) - 5, len(valid) - 4, len(valid) - 1, len(valid)} {
		f.Add(valid[:n])
	}
	f.Add(mustMarshal(f, Template{Encoder: "e", Vector: []float32{1}}))
	f.Add(append(append([]byte(nil), valid...), 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		tp, err := Parse(b, "")
		if err != nil {
			if tp.Encoder != "" || tp.Vector != nil {
				t.Fatalf("Parse returned a template with error %v", err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		again, err := tp.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed template does not marshal: %v", err)
		}
		if string(again) != string(b) {
			t.Fatalf("re-marshalled bytes differ:\n in  %x\n out %x", b, again)
		}
		if _, err := Parse(b, tp.Encoder+"x"); !errors.Is(err, ErrEncoderMismatch) {
			t.Fatalf("other encoder: got %v, want ErrEncoderMismatch", err)
		}
	})
}
