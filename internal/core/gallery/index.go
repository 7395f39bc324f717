// Package gallery is the in-memory 1:N search of face identification: an
// index of unit vectors (face embeddings; cosine = dot product) grouped by
// class id, searched for the classes most similar to a probe.
//
// # Classes and scores
//
// An index is built from (class id, vector) entries; a class may have
// several vectors (the feature vectors of one enrolled template). The score
// of a class is the maximum cosine between the probe and its vectors, and
// [Index.Search] returns the best k classes, best first (ties: lower class
// id first), with a score of at least minScore. Vectors are L2-normalised
// when added, and so is the probe.
//
// # Encodings and two-stage search
//
// The index scans a coded copy of every vector ([Encoding]: Float32,
// Float16, Int8, Int7 or Bits2) for approximate scores, keeps the best rows
// and, when it holds the float32 vectors too ([Options].Rescore >= 0), scores
// those rows again exactly (float64 sums over the float32 vectors, the same
// arithmetic as [Index.SearchExact]) before grouping them by class. The
// default, chosen by measurement (docs/benchmarks.md, "1:N
// identification"), is a Bits2 scan (2 bits a dimension: 128 bytes per
// 512-d vector where float32 reads 2,048) re-scoring its best 1,024 rows, or
// 0.4% of the rows in a large gallery: at a million templates, 45 ms per
// search on one core with the exact top candidate in every measured search,
// against 391 ms for a float32 scan. Below [SmallGallery] vectors the
// default is a plain Float32 scan.
//
// # Storage and refresh
//
// [MarshalShard] and [ParseShard] move an index's vectors to and from
// packed shards (for S3), [FromShards] builds an index from them, and
// [Cache] keeps indexes in memory by tenant and gallery, reloading one when
// the gallery's version changes.
package gallery

import (
	"errors"
	"math"
	"math/bits"
	"runtime"
	"sync"
)

// MaxDims is the largest vector length an index accepts.
const MaxDims = 4096

// Candidate is a class found by a search, with its score (the best cosine
// between the probe and the class's vectors).
type Candidate struct {
	ClassID uint64  `json:"classId"`
	Score   float32 `json:"score"`
}

// Entry is one vector of a class.
type Entry struct {
	ClassID uint64
	Vector  []float32
}

// Options configure [Builder.Build].
type Options struct {
	// Encoding is the representation scanned for every vector; 0 means
	// [DefaultEncoding], or Float32 for fewer than [SmallGallery] vectors.
	Encoding Encoding
	// Rescore is how many of the best rows by the scan's scores are scored
	// again exactly, which keeps the float32 vectors in memory beside the
	// codes (4 bytes a dimension). 0 means the encoding's default:
	// [DefaultRescore] rows or 1/[RescoreDivisor] of them, whichever is
	// more, for Int8, Int7 and Bits2; none for Float16. A
	// negative value keeps no float32 vectors: the scores returned are
	// then the encoding's approximate scores, and [Index.SearchExact] is
	// unavailable. Float32 needs no re-scoring (its vectors are the float32
	// ones): its best rows are scored again in float64 whatever the value.
	// When re-scoring, at least k * (most vectors of a class) rows are
	// re-scored (see [Index.Search]).
	Rescore int
	// Version is recorded in the index for [Cache]: the gallery version the
	// vectors were read at.
	Version int64
}

// DefaultRescore is the number of rows the integer encodings re-score by
// default: the larger of DefaultRescore and 1/RescoreDivisor of the rows
// (1,024 up to 262,144 rows, 3,906 at a million), chosen by measurement
// (docs/benchmarks.md): on random 512-d unit vectors, 1,024 rows already
// gave the exact top candidate in every search at a million rows, and 0.4%
// of the rows the exact top 10 in 95% of them (the others missed about one
// candidate each, at impostor scores).
const (
	DefaultRescore = 1024
	RescoreDivisor = 256
)

// SmallGallery is the number of vectors below which the default index is
// Float32: scanning them all exactly costs about as much as re-scoring
// DefaultRescore rows after a Bits2 scan, and takes less memory.
const SmallGallery = 4 * DefaultRescore

// Errors of building an index.
var (
	ErrDims      = errors.New("gallery: vector length differs from the index's")
	ErrVector    = errors.New("gallery: vector is zero or holds NaN or Inf")
	ErrNoFloat32 = errors.New("gallery: the index keeps no float32 vectors (Options.Rescore < 0)")
)

// Index is an immutable, searchable set of class vectors; it is safe for
// concurrent use.
type Index struct {
	version int64
	enc     Encoding
	dims    int
	n       int
	ids     []uint64
	classes int
	perCls  int // most vectors of one class
	rescore int // -1: no float32 kept

	f32   []float32 // normalised vectors (Float32, or kept for re-scoring)
	f16   []uint16  // Float16
	i8    []int8    // Int8 codes
	w     []uint64  // Int7 bytes, or Bits2 planes
	words int       // words of w per row
	scale []float32 // Int8, Int7: code scale; Bits2: step
	bias  []int32   // Int7: 64 * sum(codes); Bits2: sum(codes)
}

func (x *Index) countClasses() {
	count := make(map[uint64]int, len(x.ids))
	for _, id := range x.ids {
		count[id]++
	}
	x.classes = len(count)
	x.perCls = 0
	for _, c := range count {
		x.perCls = max(x.perCls, c)
	}
}

// Version is the version given at build time.
func (x *Index) Version() int64 { return x.version }

// Encoding is the scanned encoding.
func (x *Index) Encoding() Encoding { return x.enc }

// Dims is the vector length.
func (x *Index) Dims() int { return x.dims }

// Len is the number of vectors.
func (x *Index) Len() int { return x.n }

// Classes is the number of distinct class ids.
func (x *Index) Classes() int { return x.classes }

// Rescore is the number of rows re-scored exactly (-1: none, the index
// keeps no float32 vectors; 0: Float32, exact throughout).
func (x *Index) Rescore() int { return x.rescore }

// Bytes is the memory held by the index's slices.
func (x *Index) Bytes() int64 {
	return int64(8*cap(x.ids) + 4*cap(x.f32) + 2*cap(x.f16) + cap(x.i8) + 8*cap(x.w) + 4*cap(x.scale) + 4*cap(x.bias))
}

// ClassIDs returns the class id of every row, in row order (shared: do not
// modify).
func (x *Index) ClassIDs() []uint64 { return x.ids }

// Vector returns row i as float32: the kept vector when there is one,
// otherwise the decoded codes (Bits2 codes decode to their levels).
func (x *Index) Vector(i int) []float32 {
	out := make([]float32, x.dims)
	x.vectorInto(i, out)
	return out
}

func (x *Index) vectorInto(i int, out []float32) {
	d := x.dims
	switch {
	case x.f32 != nil:
		copy(out, x.f32[i*d:(i+1)*d])
	case x.enc == Float16:
		for j, h := range x.f16[i*d : (i+1)*d] {
			out[j] = fromFloat16(h)
		}
	case x.enc == Int8:
		for j, c := range x.i8[i*d : (i+1)*d] {
			out[j] = float32(c) * x.scale[i]
		}
	case x.enc == Int7:
		codes := make([]int8, d)
		x.int7Codes(i, codes)
		for j, c := range codes {
			out[j] = float32(c) * x.scale[i]
		}
	case x.enc == Bits2:
		row := x.w[i*x.words : (i+1)*x.words]
		for j := range out {
			w, b := j/64, uint(j%64)
			a := row[2*w]>>b&1 | (row[2*w+1]>>b&1)<<1
			out[j] = (float32(a) - 1.5) * x.scale[i]
		}
	}
}

// int7Codes returns the signed codes of Int7 row i.
func (x *Index) int7Codes(i int, codes []int8) {
	row := x.w[i*x.words : (i+1)*x.words]
	for j := range codes {
		codes[j] = int8(int(row[j/8]>>(8*(j%8))&0xff) - 64)
	}
}

// forRows runs f over [0, n) in chunks on every CPU (building a large
// index is the cold start of a Lambda holding it; Lambda functions with the
// memory a large gallery needs have several vCPUs).
func forRows(n int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/8192+1)
	if workers <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(n*w/workers, n*(w+1)/workers)
		}()
	}
	wg.Wait()
}

// encodeRows fills the scanned representation from normalised vectors.
func (x *Index) encodeRows(vecs []float32) {
	d, n := x.dims, x.n
	switch x.enc {
	case Float16:
		x.f16 = make([]uint16, n*d)
		forRows(n, func(lo, hi int) {
			for i, v := range vecs[lo*d : hi*d] {
				x.f16[lo*d+i] = toFloat16(v)
			}
		})
	case Int8:
		x.i8 = make([]int8, n*d)
		x.scale = make([]float32, n)
		forRows(n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				x.scale[r] = quantize(x.i8[r*d:(r+1)*d], vecs[r*d:(r+1)*d], 127)
			}
		})
	case Int7:
		x.words = (d + 7) / 8
		x.w = make([]uint64, n*x.words)
		x.scale = make([]float32, n)
		x.bias = make([]int32, n)
		forRows(n, func(lo, hi int) {
			codes := make([]int8, d)
			for r := lo; r < hi; r++ {
				x.scale[r] = quantize(codes, vecs[r*d:(r+1)*d], 63)
				x.bias[r] = packInt7(x.w[r*x.words:(r+1)*x.words], codes)
			}
		})
	case Bits2:
		x.words = 2 * ((d + 63) / 64)
		x.w = make([]uint64, n*x.words)
		x.scale = make([]float32, n)
		x.bias = make([]int32, n)
		forRows(n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				x.scale[r], x.bias[r] = packBits2(x.w[r*x.words:(r+1)*x.words], vecs[r*d:(r+1)*d])
			}
		})
	}
}

// packInt7 writes codes (in [-63, 63]) as offset bytes into row and returns
// 64 * sum(codes).
func packInt7(row []uint64, codes []int8) int32 {
	clear(row)
	var s int32
	for j, c := range codes {
		s += int32(c)
		row[j/8] |= uint64(uint8(c+64)) << (8 * (j % 8))
	}
	return 64 * s
}

// packBits2 codes v on two interleaved bit-planes and returns the step and
// the sum of the codes: a = 0 for x <= -step, 1 for -step < x < 0, 2 for
// 0 <= x < step, 3 for x >= step, the sign being the sign bit (-0 is
// negative). Branch-free, on the float bits: random signs would defeat
// branch prediction, and the bits of non-negative floats order like them.
func packBits2(row []uint64, v []float32) (float32, int32) {
	clear(row)
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	step := float32(math.Sqrt(ss / float64(len(v))))
	sb := int64(math.Float32bits(step))
	var sum int
	for w := 0; w*64 < len(v); w++ {
		chunk := v[w*64 : min(len(v), (w+1)*64)]
		var pos, big uint64
		for j, x := range chunk {
			u := math.Float32bits(x)
			pos |= uint64(^u>>31) << (uint(j) & 63)
			big |= uint64(^(int64(u&0x7fffffff)-sb)>>63&1) << (uint(j) & 63) // |x| >= step
		}
		valid := ^uint64(0) >> (64 - uint(len(chunk)))
		lo := ^(pos ^ big) & valid // a = 2*pos + lo: 0, 1, 2, 3 as documented
		row[2*w], row[2*w+1] = lo, pos
		sum += 2*bits.OnesCount64(pos) + bits.OnesCount64(lo)
	}
	return step, int32(sum)
}
