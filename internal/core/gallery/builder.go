package gallery

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// Builder collects entries for an index. It keeps each vector normalised,
// as float32, until [Builder.Build].
type Builder struct {
	dims int
	ids  []uint64
	vecs []float32
}

// NewBuilder returns a builder of vectors of dims dimensions (1..MaxDims).
func NewBuilder(dims int) (*Builder, error) {
	if dims < 1 || dims > MaxDims {
		return nil, fmt.Errorf("gallery: %d dimensions (1..%d)", dims, MaxDims)
	}
	return &Builder{dims: dims}, nil
}

// Grow makes room for n more vectors.
func (b *Builder) Grow(n int) {
	b.ids = slices.Grow(b.ids, n)
	b.vecs = slices.Grow(b.vecs, n*b.dims)
}

// Add appends one vector of a class (normalised to unit length; the caller's
// slice is not kept).
func (b *Builder) Add(classID uint64, v []float32) error {
	if len(v) != b.dims {
		return fmt.Errorf("%w: %d, want %d", ErrDims, len(v), b.dims)
	}
	inv, ok := invNorm(v)
	if !ok {
		return ErrVector
	}
	b.ids = append(b.ids, classID)
	for _, x := range v {
		b.vecs = append(b.vecs, float32(float64(x)*inv))
	}
	return nil
}

// Len is the number of vectors added.
func (b *Builder) Len() int { return len(b.ids) }

// Dims is the vector length.
func (b *Builder) Dims() int { return b.dims }

// invNorm returns 1/|v|, or false for a zero or non-finite vector.
func invNorm(v []float32) (float64, bool) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return 0, false
	}
	return 1 / math.Sqrt(s), true
}

// Build returns the index of the vectors added so far. The builder must not
// be used afterwards (the index may share its memory).
func (b *Builder) Build(opts Options) (*Index, error) {
	x, err := build(b.dims, b.ids, b.vecs, opts)
	b.ids, b.vecs = nil, nil
	return x, err
}

// FromVectors builds an index over a flat matrix: row i is
// vecs[i*dims:(i+1)*dims], of class ids[i]. The rows are normalised in
// place, and the index keeps ids and vecs (no copy) when it keeps float32
// vectors: several indexes of different encodings may share one matrix.
func FromVectors(dims int, ids []uint64, vecs []float32, opts Options) (*Index, error) {
	if dims < 1 || dims > MaxDims {
		return nil, fmt.Errorf("gallery: %d dimensions (1..%d)", dims, MaxDims)
	}
	if len(vecs) != len(ids)*dims {
		return nil, fmt.Errorf("%w: %d values for %d rows of %d", ErrDims, len(vecs), len(ids), dims)
	}
	bad := make([]int, 0, 1)
	var mu sync.Mutex
	forRows(len(ids), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			v := vecs[r*dims : (r+1)*dims]
			inv, ok := invNorm(v)
			if !ok {
				mu.Lock()
				bad = append(bad, r)
				mu.Unlock()
				return
			}
			if math.Abs(inv-1) > 1e-6 {
				for j, x := range v {
					v[j] = float32(float64(x) * inv)
				}
			}
		}
	})
	if len(bad) > 0 {
		r := slices.Min(bad)
		return nil, fmt.Errorf("row %d (class %d): %w", r, ids[r], ErrVector)
	}
	return build(dims, ids, vecs, opts)
}

func build(dims int, ids []uint64, vecs []float32, opts Options) (*Index, error) {
	enc := opts.Encoding
	switch {
	case enc == 0 && len(ids) < SmallGallery:
		enc = Float32
	case enc == 0:
		enc = DefaultEncoding
	}
	if !enc.Valid() {
		return nil, fmt.Errorf("gallery: unknown encoding %d", enc)
	}
	if len(ids) > math.MaxInt32 {
		return nil, fmt.Errorf("gallery: %d vectors (at most %d)", len(ids), math.MaxInt32)
	}
	x := &Index{version: opts.Version, enc: enc, dims: dims, n: len(ids), ids: ids}
	switch {
	case enc == Float32:
		x.rescore = 0
	case opts.Rescore < 0, opts.Rescore == 0 && enc == Float16:
		x.rescore = -1
	case opts.Rescore == 0:
		x.rescore = max(DefaultRescore, len(ids)/RescoreDivisor)
	default:
		x.rescore = opts.Rescore
	}
	x.countClasses()
	if enc == Float32 || x.rescore >= 0 {
		x.f32 = vecs
	}
	if enc != Float32 {
		x.encodeRows(vecs)
	}
	return x, nil
}

// Build is a shortcut for a [Builder] fed with entries.
func Build(dims int, entries []Entry, opts Options) (*Index, error) {
	b, err := NewBuilder(dims)
	if err != nil {
		return nil, err
	}
	b.Grow(len(entries))
	for i, e := range entries {
		if err := b.Add(e.ClassID, e.Vector); err != nil {
			return nil, fmt.Errorf("entry %d (class %d): %w", i, e.ClassID, err)
		}
	}
	return b.Build(opts)
}
