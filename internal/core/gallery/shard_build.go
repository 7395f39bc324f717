package gallery

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// ErrShardSet reports shards that do not form one complete version.
var ErrShardSet = errors.New("gallery: incomplete or inconsistent shard set")

// FromShards builds an index from every shard of one gallery version (in
// any order; each index 0..Count-1 exactly once, same version, dimensions
// and encoding). opts.Version is taken from the shards. When opts.Encoding
// is the shards' integer encoding and no float32 vectors are kept
// (opts.Rescore < 0), the codes are used as they are; otherwise vectors
// are decoded to float32 and coded again.
func FromShards(shards []*Shard, opts Options) (*Index, error) {
	if len(shards) == 0 {
		return nil, fmt.Errorf("%w: no shards", ErrShardSet)
	}
	first := shards[0]
	seen := make([]bool, first.Count)
	n := 0
	for _, s := range shards {
		if s.Count != first.Count || s.Version != first.Version || s.Dims != first.Dims || s.Encoding != first.Encoding {
			return nil, fmt.Errorf("%w: shard %d (version %d, %d of %d, %d dims, %v) differs from shard %d (version %d, %d of %d, %d dims, %v)",
				ErrShardSet, s.Index, s.Version, s.Index, s.Count, s.Dims, s.Encoding,
				first.Index, first.Version, first.Index, first.Count, first.Dims, first.Encoding)
		}
		if s.Index < 0 || s.Index >= s.Count || seen[s.Index] {
			return nil, fmt.Errorf("%w: shard %d given twice or out of range", ErrShardSet, s.Index)
		}
		seen[s.Index] = true
		n += s.Len()
	}
	if len(shards) != first.Count {
		return nil, fmt.Errorf("%w: %d of %d shards", ErrShardSet, len(shards), first.Count)
	}
	ordered := slices.Clone(shards)
	slices.SortFunc(ordered, func(a, b *Shard) int { return a.Index - b.Index })
	opts.Version = first.Version
	enc := opts.Encoding
	d := first.Dims
	ids := make([]uint64, 0, n)
	for _, s := range ordered {
		ids = append(ids, s.ClassIDs...)
	}
	if opts.Rescore < 0 && enc == first.Encoding && (enc == Int8 || enc == Int7) {
		return fromCodes(d, ids, ordered, opts)
	}
	vecs := make([]float32, n*d)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	r := 0
	for _, s := range ordered {
		wg.Add(1)
		sem <- struct{}{}
		go func(s *Shard, r int) {
			defer func() { <-sem; wg.Done() }()
			for i := 0; i < s.Len(); i++ {
				s.Vector(i, vecs[(r+i)*d:(r+i+1)*d])
			}
		}(s, r)
		r += s.Len()
	}
	wg.Wait()
	return FromVectors(d, ids, vecs, opts)
}

// AddShard decodes a shard's vectors into the builder (for loading shards
// one at a time, dropping each after use; unlike [FromShards] it does not
// check that the shards form a complete set).
func (b *Builder) AddShard(s *Shard) error {
	if s.Dims != b.dims {
		return fmt.Errorf("%w: shard of %d, builder of %d", ErrDims, s.Dims, b.dims)
	}
	b.Grow(s.Len())
	vec := make([]float32, s.Dims)
	for i := 0; i < s.Len(); i++ {
		if err := b.Add(s.ClassIDs[i], s.Vector(i, vec)); err != nil {
			return fmt.Errorf("shard %d, vector %d: %w", s.Index, i, err)
		}
	}
	return nil
}

// fromCodes builds an integer index straight from shards of its encoding.
func fromCodes(d int, ids []uint64, shards []*Shard, opts Options) (*Index, error) {
	enc := shards[0].Encoding
	x := &Index{version: opts.Version, enc: enc, dims: d, n: len(ids), ids: ids, rescore: -1}
	x.countClasses()
	x.scale = make([]float32, x.n)
	if enc == Int8 {
		x.i8 = make([]int8, x.n*d)
	} else {
		x.words = (d + 7) / 8
		x.w = make([]uint64, x.n*x.words)
		x.bias = make([]int32, x.n)
	}
	codes := make([]int8, d)
	bpv := enc.BytesPerVector(d)
	r := 0
	for _, s := range shards {
		for i := 0; i < s.Len(); i++ {
			b := s.data[i*bpv : (i+1)*bpv]
			x.scale[r] = math.Float32frombits(binary.LittleEndian.Uint32(b))
			for j := range codes {
				codes[j] = int8(b[4+j])
			}
			if enc == Int8 {
				copy(x.i8[r*d:(r+1)*d], codes)
			} else {
				x.bias[r] = packInt7(x.w[r*x.words:(r+1)*x.words], codes)
			}
			r++
		}
	}
	return x, nil
}
