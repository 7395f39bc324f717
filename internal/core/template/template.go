// Package template encodes biometric templates (face embeddings) in a small,
// versioned binary format, carried as base64 in JSON API payloads.
//
// # Format
//
// All integers are little endian. Version 1 of the format is:
//
//	offset       size     field
//	0            4        magic "FLTP"
//	4            2        format version, uint16 (currently 1)
//	6            1        encoder id length n, uint8 (1..255)
//	7            n        encoder id, printable ASCII, e.g. "fr_feature-512-v1"
//	7+n          2        dimensions d, uint16 (1..4096)
//	9+n          4*d      d IEEE-754 float32 values (finite)
//	9+n+4d       4        CRC-32 (IEEE) of all preceding bytes
//
// A version 1 template is exactly 13+n+4d bytes long; trailing bytes are
// rejected. The encoder id names the model (and its version) that produced
// the embedding: embeddings of different encoders are not comparable, so
// [Parse] rejects a template whose encoder is not the one the service runs,
// with [ErrEncoderMismatch].
//
// In JSON the bytes are base64 encoded ([Template.Base64]); [ParseBase64]
// accepts the standard and URL alphabets, padded or not.
//
// # Errors
//
// Parse errors wrap one of [ErrMalformed] (not a valid template: bad magic,
// truncated, bad checksum, bad dimensions or values, bad base64),
// [ErrUnsupportedFormat] (a format version this service does not read) or
// [ErrEncoderMismatch] (a valid template from another encoder); test for
// them with [errors.Is].
//
// # Vectors
//
// [Parse] checks the format, not the vector: a well-formed template may
// still hold a vector no encoder produced. [Check] verifies that a vector
// has the encoder's dimensions, finite values and unit L2 norm; a service
// checks every template a client sends with it before comparing it.
package template

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strings"
)

const (
	// Magic starts every encoded template.
	Magic = "FLTP"
	// FormatVersion is the format version written by [Template.MarshalBinary]
	// and the only one [Parse] reads.
	FormatVersion = 1
	// MaxDimensions is the largest number of vector dimensions accepted.
	MaxDimensions = 4096
	// MaxEncoderLen is the longest encoder id accepted.
	MaxEncoderLen = 255

	headerLen = len(Magic) + 2 + 1 // magic, version, encoder length
	crcLen    = 4
	// MaxSize is the largest possible encoded version 1 template, in bytes.
	MaxSize = headerLen + MaxEncoderLen + 2 + 4*MaxDimensions + crcLen
)

var (
	// ErrMalformed reports data that is not a valid template.
	ErrMalformed = errors.New("malformed template")
	// ErrUnsupportedFormat reports a template in a format version this
	// service cannot read.
	ErrUnsupportedFormat = errors.New("unsupported template format")
	// ErrEncoderMismatch reports a valid template produced by an encoder
	// other than the one this service uses. The concrete error is an
	// [*EncoderMismatchError].
	ErrEncoderMismatch = errors.New("template encoder mismatch")
)

// EncoderMismatchError is returned by [Parse] when the template's encoder is
// not the wanted one. It matches [ErrEncoderMismatch] with [errors.Is].
type EncoderMismatchError struct {
	Encoder string // encoder recorded in the template
	Want    string // encoder used by the service
}

func (e *EncoderMismatchError) Error() string {
	return fmt.Sprintf("template encoder %s is not supported by this service (current encoder %s); re-create the template from an image",
		e.Encoder, e.Want)
}

// Is reports whether target is [ErrEncoderMismatch].
func (e *EncoderMismatchError) Is(target error) bool { return target == ErrEncoderMismatch }

// Template is a face embedding together with the id of the encoder that
// produced it.
type Template struct {
	Encoder string
	Vector  []float32
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// validEncoder checks that s is a usable encoder id.
func validEncoder(s string) error {
	if s == "" {
		return malformed("empty encoder id")
	}
	if len(s) > MaxEncoderLen {
		return malformed("encoder id is %d bytes long, the limit is %d", len(s), MaxEncoderLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return malformed("encoder id contains non-printable or non-ASCII byte 0x%02x", c)
		}
	}
	return nil
}

func validDims(d int) error {
	if d == 0 {
		return malformed("template has no dimensions")
	}
	if d > MaxDimensions {
		return malformed("template has %d dimensions, the limit is %d", d, MaxDimensions)
	}
	return nil
}

// MarshalBinary encodes t in the current format version. It fails with an
// error wrapping [ErrMalformed] when the encoder id is empty, too long or not
// printable ASCII, when the vector is empty or longer than [MaxDimensions],
// or when it holds a NaN or infinite value.
func (t Template) MarshalBinary() ([]byte, error) {
	if err := validEncoder(t.Encoder); err != nil {
		return nil, err
	}
	if err := validDims(len(t.Vector)); err != nil {
		return nil, err
	}
	b := make([]byte, 0, headerLen+len(t.Encoder)+2+4*len(t.Vector)+crcLen)
	b = append(b, Magic...)
	b = binary.LittleEndian.AppendUint16(b, FormatVersion)
	b = append(b, byte(len(t.Encoder)))
	b = append(b, t.Encoder...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(t.Vector)))
	for i, v := range t.Vector {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, malformed("value %d is %v", i, v)
		}
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return b, nil
}

// Parse decodes a binary template. When wantEncoder is not empty, a valid
// template from any other encoder is rejected with an
// [*EncoderMismatchError]; an empty wantEncoder accepts every encoder.
// The returned vector does not alias b.
func Parse(b []byte, wantEncoder string) (Template, error) {
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return Template{}, malformed("not a template (missing %q signature)", Magic)
	}
	if len(b) < len(Magic)+2 {
		return Template{}, malformed("truncated header (%d bytes)", len(b))
	}
	// The layout after the version depends on it: check it first.
	if v := binary.LittleEndian.Uint16(b[len(Magic):]); v != FormatVersion {
		return Template{}, fmt.Errorf("%w: version %d (this service reads version %d); re-create the template from an image",
			ErrUnsupportedFormat, v, FormatVersion)
	}
	if len(b) < headerLen {
		return Template{}, malformed("truncated header (%d bytes)", len(b))
	}
	n := int(b[6])
	off := headerLen + n
	if len(b) < off+2 {
		return Template{}, malformed("truncated (%d bytes, header needs %d)", len(b), off+2)
	}
	encoder := string(b[headerLen:off])
	if err := validEncoder(encoder); err != nil {
		return Template{}, err
	}
	d := int(binary.LittleEndian.Uint16(b[off:]))
	if err := validDims(d); err != nil {
		return Template{}, err
	}
	off += 2
	want := off + 4*d + crcLen
	if len(b) < want {
		return Template{}, malformed("truncated (%d bytes, %d dimensions need %d)", len(b), d, want)
	}
	if len(b) > want {
		return Template{}, malformed("%d unexpected trailing bytes (%d dimensions need %d bytes)", len(b)-want, d, want)
	}
	body := b[:want-crcLen]
	if got, sum := binary.LittleEndian.Uint32(b[want-crcLen:]), crc32.ChecksumIEEE(body); got != sum {
		return Template{}, malformed("checksum mismatch (the template was altered or cut short)")
	}
	vec := make([]float32, d)
	for i := range vec {
		v := math.Float32frombits(binary.LittleEndian.Uint32(b[off+4*i:]))
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Template{}, malformed("value %d is %v", i, v)
		}
		vec[i] = v
	}
	if wantEncoder != "" && encoder != wantEncoder {
		return Template{}, &EncoderMismatchError{Encoder: encoder, Want: wantEncoder}
	}
	return Template{Encoder: encoder, Vector: vec}, nil
}

// Base64 returns the standard, padded base64 encoding of the binary
// template, or "" if t cannot be marshalled (see [Template.MarshalBinary]).
func (t Template) Base64() string {
	b, err := t.MarshalBinary()
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

// ParseBase64 decodes a base64 template and parses it as [Parse] does.
// Surrounding whitespace is ignored; the standard and URL-safe alphabets
// are accepted, with or without padding.
func ParseBase64(s, wantEncoder string) (Template, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Template{}, malformed("empty template")
	}
	// Reject oversized input before allocating for it.
	if len(s) > base64.StdEncoding.EncodedLen(MaxSize) {
		return Template{}, malformed("template is %d base64 characters long, the limit is %d",
			len(s), base64.StdEncoding.EncodedLen(MaxSize))
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return Template{}, malformed("invalid base64: %v", err)
	}
	return Parse(b, wantEncoder)
}

// UnitTolerance is how far from 1 the L2 norm of a vector checked by
// [Check] may be. The encoder's output is scaled to unit norm in float32
// (face.Normalize) and the binary format stores those float32 values
// bit for bit, so a service-made template has a norm within a few float32
// roundings of 1 (|norm-1| < 1e-6 over 512 dimensions, measured in the
// tests). 1e-4 leaves a wide margin for a client that re-normalises in
// float32 yet is far too tight for a vector that was not normalised: a norm
// off by 1e-4 moves a cosine by at most 1e-4, a small fraction of the gap
// between two security levels.
const UnitTolerance = 1e-4

// ErrInvalidVector reports a template whose vector cannot be an output of
// the encoder: wrong dimensions, non-finite values or not of unit norm. It
// wraps [ErrMalformed].
var ErrInvalidVector = fmt.Errorf("%w: invalid vector", ErrMalformed)

// Check reports whether v can be the output of an encoder of dims
// dimensions: exactly dims values, all finite, of L2 norm 1 within
// [UnitTolerance]. The error wraps [ErrInvalidVector].
func Check(v []float32, dims int) error {
	if len(v) != dims {
		return fmt.Errorf("%w: %d dimensions, the encoder has %d", ErrInvalidVector, len(v), dims)
	}
	var s float64
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: value %d is %v", ErrInvalidVector, i, x)
		}
		s += f * f // float32 squares are far from float64's range limits
	}
	if n := math.Sqrt(s); !(math.Abs(n-1) <= UnitTolerance) {
		return fmt.Errorf("%w: L2 norm %.6g, a template is of unit norm (within %g)", ErrInvalidVector, n, UnitTolerance)
	}
	return nil
}

// Digest returns the hex SHA-256 of the template's binary form (the bytes
// of [Template.MarshalBinary], which are the base64-decoded bytes of a
// template [Parse] accepted), or "" when t cannot be marshalled.
func (t Template) Digest() string {
	b, err := t.MarshalBinary()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
