package gallery

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
)

// Shards: a gallery's matrix packed for object storage.
//
// A large gallery is stored as a few big objects rather than one item per
// template: shard i of n holds up to [MaxShardVectors] rows (class id and
// vector) of one version of the gallery, in one encoding. All integers are
// little endian. Version 1 of the format is:
//
//	offset        size        field
//	0             4           magic "FLGS"
//	4             2           format version, uint16 (1)
//	6             1           encoding, uint8 (1 float32, 2 float16, 3 int8, 4 int7)
//	7             1           reserved, 0
//	8             2           dimensions d, uint16 (1..4096)
//	10            2           reserved, 0
//	12            4           vectors c, uint32 (0..65536)
//	16            8           gallery version, int64
//	24            4           shard index i, uint32 (< n)
//	28            4           shard count n, uint32 (1..65536)
//	32            8*c         class ids, uint64
//	32+8c         c*V         vectors, V bytes each:
//	                            float32: d IEEE-754 binary32
//	                            float16: d IEEE-754 binary16
//	                            int8:    scale (binary32, >= 0), d codes in [-127, 127]
//	                            int7:    scale (binary32, >= 0), d codes in [-63, 63]
//	                            (scale * 127 or 63 finite; value = scale * code)
//	32+8c+cV      4           CRC-32 (IEEE) of all preceding bytes
//
// A shard is exactly 36+8c+cV bytes; [ParseShard] rejects anything else
// (bad magic or version, unknown encoding, sizes that do not add up,
// trailing bytes, a bad checksum, non-finite or out-of-range values)
// with an error wrapping [ErrShard], and never panics. Vectors are stored as
// the index holds them (normalised); float16 and the integer encodings are
// lossy, so a shard meant to feed an exact re-scoring stores float32.

// ShardMagic starts every shard.
const ShardMagic = "FLGS"

// ShardFormatVersion is the format version written and read.
const ShardFormatVersion = 1

// MaxShardVectors is the most vectors in one shard.
const MaxShardVectors = 1 << 16

const shardHeader = 32

// ErrShard is wrapped by every error of [ParseShard].
var ErrShard = errors.New("gallery: malformed shard")

// Shard is one decoded shard: rows [Index.Len] of a gallery version.
type Shard struct {
	Version  int64    // gallery version the rows were read at
	Index    int      // position of this shard, 0..Count-1
	Count    int      // number of shards of this version
	Encoding Encoding // Float32, Float16, Int8 or Int7
	Dims     int
	ClassIDs []uint64
	// payload: the vectors as stored (len(ClassIDs) * bytes per vector)
	data []byte
}

// shardEncoding reports whether e can be stored in a shard.
func shardEncoding(e Encoding) bool {
	return e == Float32 || e == Float16 || e == Int8 || e == Int7
}

// Len is the number of vectors.
func (s *Shard) Len() int { return len(s.ClassIDs) }

// Vector decodes row i into dst (len Dims) and returns it.
func (s *Shard) Vector(i int, dst []float32) []float32 {
	if len(dst) < s.Dims {
		dst = make([]float32, s.Dims)
	}
	dst = dst[:s.Dims]
	bpv := s.Encoding.BytesPerVector(s.Dims)
	b := s.data[i*bpv : (i+1)*bpv]
	switch s.Encoding {
	case Float32:
		for j := range dst {
			dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
	case Float16:
		for j := range dst {
			dst[j] = fromFloat16(binary.LittleEndian.Uint16(b[2*j:]))
		}
	case Int8, Int7:
		scale := math.Float32frombits(binary.LittleEndian.Uint32(b))
		for j := range dst {
			dst[j] = float32(int8(b[4+j])) * scale
		}
	}
	return dst
}

// ShardEncoding is the encoding in which x's vectors are stored without
// loss: Float32 when x keeps float32 vectors (the default index, whose
// re-scoring is then exact after a reload), else x's own encoding, or
// Float16 for a Bits2 index without float32 vectors.
func (x *Index) ShardEncoding() Encoding {
	switch {
	case x.f32 != nil:
		return Float32
	case x.enc == Bits2:
		return Float16
	}
	return x.enc
}

// NewShards cuts the rows of an index into shards of at most perShard
// vectors (0: [MaxShardVectors]) in the given encoding (one of Float32,
// Float16, Int8, Int7), tagged with the index's version. Row vectors come
// from [Index.Vector]: an index without float32 vectors can only be
// re-stored losslessly in its own integer or float16 encoding.
func NewShards(x *Index, enc Encoding, perShard int) ([]*Shard, error) {
	if !shardEncoding(enc) {
		return nil, fmt.Errorf("gallery: %v is not a shard encoding (float32, float16, int8, int7)", enc)
	}
	if perShard <= 0 || perShard > MaxShardVectors {
		perShard = MaxShardVectors
	}
	count := max(1, (x.n+perShard-1)/perShard)
	if count > MaxShardVectors {
		return nil, fmt.Errorf("gallery: %d vectors need more than %d shards", x.n, MaxShardVectors)
	}
	bpv := enc.BytesPerVector(x.dims)
	out := make([]*Shard, count)
	vec := make([]float32, x.dims)
	codes := make([]int8, x.dims)
	for i := range out {
		lo, hi := i*perShard, min((i+1)*perShard, x.n)
		s := &Shard{Version: x.version, Index: i, Count: count, Encoding: enc, Dims: x.dims,
			ClassIDs: slices.Clone(x.ids[lo:hi]), data: make([]byte, (hi-lo)*bpv)}
		for r := lo; r < hi; r++ {
			b := s.data[(r-lo)*bpv : (r-lo+1)*bpv]
			x.vectorInto(r, vec)
			switch enc {
			case Float32:
				for j, v := range vec {
					binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
				}
			case Float16:
				for j, v := range vec {
					binary.LittleEndian.PutUint16(b[2*j:], toFloat16(v))
				}
			case Int8, Int7:
				var scale float32
				switch {
				case enc == x.enc && enc == Int8: // keep the codes as they are
					copy(codes, x.i8[r*x.dims:(r+1)*x.dims])
					scale = x.scale[r]
				case enc == x.enc && enc == Int7:
					x.int7Codes(r, codes)
					scale = x.scale[r]
				case enc == Int8:
					scale = quantize(codes, vec, 127)
				default:
					scale = quantize(codes, vec, 63)
				}
				binary.LittleEndian.PutUint32(b, math.Float32bits(scale))
				for j, c := range codes {
					b[4+j] = byte(c)
				}
			}
		}
		out[i] = s
	}
	return out, nil
}

// MarshalShard encodes a shard.
func MarshalShard(s *Shard) ([]byte, error) {
	if !shardEncoding(s.Encoding) {
		return nil, fmt.Errorf("gallery: %v is not a shard encoding", s.Encoding)
	}
	if s.Dims < 1 || s.Dims > MaxDims {
		return nil, fmt.Errorf("gallery: shard of %d dimensions", s.Dims)
	}
	c := len(s.ClassIDs)
	bpv := s.Encoding.BytesPerVector(s.Dims)
	if c > MaxShardVectors || len(s.data) != c*bpv {
		return nil, fmt.Errorf("gallery: shard of %d vectors with %d bytes of data", c, len(s.data))
	}
	if s.Count < 1 || s.Count > MaxShardVectors || s.Index < 0 || s.Index >= s.Count {
		return nil, fmt.Errorf("gallery: shard %d of %d", s.Index, s.Count)
	}
	b := make([]byte, shardHeader, shardHeader+8*c+len(s.data)+4)
	copy(b, ShardMagic)
	binary.LittleEndian.PutUint16(b[4:], ShardFormatVersion)
	b[6] = byte(s.Encoding)
	binary.LittleEndian.PutUint16(b[8:], uint16(s.Dims))
	binary.LittleEndian.PutUint32(b[12:], uint32(c))
	binary.LittleEndian.PutUint64(b[16:], uint64(s.Version))
	binary.LittleEndian.PutUint32(b[24:], uint32(s.Index))
	binary.LittleEndian.PutUint32(b[28:], uint32(s.Count))
	for _, id := range s.ClassIDs {
		b = binary.LittleEndian.AppendUint64(b, id)
	}
	b = append(b, s.data...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b)), nil
}

func shardErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrShard}, args...)...)
}

// ParseShard decodes and checks a shard. The shard keeps b's vector bytes
// (no copy: a 65,536-vector float32 shard is 128 MiB); do not modify b
// while the shard is in use.
func ParseShard(b []byte) (*Shard, error) {
	if len(b) < len(ShardMagic) || string(b[:len(ShardMagic)]) != ShardMagic {
		return nil, shardErr("missing %q signature", ShardMagic)
	}
	if len(b) < shardHeader+4 {
		return nil, shardErr("truncated header (%d bytes)", len(b))
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != ShardFormatVersion {
		return nil, shardErr("format version %d (this build reads %d)", v, ShardFormatVersion)
	}
	enc := Encoding(b[6])
	if !shardEncoding(enc) {
		return nil, shardErr("encoding %d", b[6])
	}
	if b[7] != 0 || b[10] != 0 || b[11] != 0 {
		return nil, shardErr("reserved bytes set")
	}
	d := int(binary.LittleEndian.Uint16(b[8:]))
	if d < 1 || d > MaxDims {
		return nil, shardErr("%d dimensions", d)
	}
	c := int(binary.LittleEndian.Uint32(b[12:]))
	if c > MaxShardVectors {
		return nil, shardErr("%d vectors (at most %d)", c, MaxShardVectors)
	}
	s := &Shard{Version: int64(binary.LittleEndian.Uint64(b[16:])), Index: int(binary.LittleEndian.Uint32(b[24:])),
		Count: int(binary.LittleEndian.Uint32(b[28:])), Encoding: enc, Dims: d}
	if s.Count < 1 || s.Count > MaxShardVectors || s.Index >= s.Count {
		return nil, shardErr("shard %d of %d", s.Index, s.Count)
	}
	bpv := enc.BytesPerVector(d)
	want := shardHeader + 8*c + c*bpv + 4
	if len(b) != want {
		return nil, shardErr("%d bytes, %d vectors of %d dimensions (%v) need %d", len(b), c, d, enc, want)
	}
	if got, sum := binary.LittleEndian.Uint32(b[want-4:]), crc32.ChecksumIEEE(b[:want-4]); got != sum {
		return nil, shardErr("checksum mismatch (altered or cut short)")
	}
	s.ClassIDs = make([]uint64, c)
	for i := range s.ClassIDs {
		s.ClassIDs[i] = binary.LittleEndian.Uint64(b[shardHeader+8*i:])
	}
	data := b[shardHeader+8*c : want-4]
	for i := 0; i < c; i++ {
		if err := checkVector(enc, d, data[i*bpv:(i+1)*bpv]); err != nil {
			return nil, shardErr("vector %d: %v", i, err)
		}
	}
	s.data = data[:len(data):len(data)]
	return s, nil
}

// checkVector rejects non-finite values, out-of-range codes and zero
// vectors (which no index holds).
func checkVector(enc Encoding, d int, b []byte) error {
	nonzero := false
	switch enc {
	case Float32:
		var or uint32
		for j := 0; j < d; j++ {
			u := binary.LittleEndian.Uint32(b[4*j:])
			if u&0x7f800000 == 0x7f800000 {
				return fmt.Errorf("value %d is %v", j, math.Float32frombits(u))
			}
			or |= u & 0x7fffffff
		}
		nonzero = or != 0
	case Float16:
		var or uint16
		for j := 0; j < d; j++ {
			h := binary.LittleEndian.Uint16(b[2*j:])
			if h&0x7c00 == 0x7c00 {
				return fmt.Errorf("value %d is not finite", j)
			}
			or |= h & 0x7fff
		}
		nonzero = or != 0
	case Int8, Int7:
		scale := math.Float32frombits(binary.LittleEndian.Uint32(b))
		limit := int8(127)
		if enc == Int7 {
			limit = 63
		}
		if !(scale >= 0) || float64(scale)*float64(limit) > math.MaxFloat32 {
			return fmt.Errorf("scale %v", scale)
		}
		var or byte
		for j, u := range b[4 : 4+d] {
			c := int8(u)
			if c < -limit || c > limit {
				return fmt.Errorf("code %d is %d (|code| <= %d)", j, c, limit)
			}
			or |= u
		}
		nonzero = or != 0 && scale > 0
	}
	if !nonzero {
		return errors.New("zero vector")
	}
	return nil
}
