package gallery

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"sync"
)

// Search returns the best k classes for the probe, best first, each with a
// score of at least minScore (-1 or less: no cut-off, even for approximate
// scores a little under -1). It scans every row on
// the calling goroutine. A probe whose length is not [Index.Dims], or that
// is zero or not finite, finds nothing (nil), as does k <= 0.
//
// The scan keeps the best max(Rescore, k*m) rows by the encoding's scores,
// m being the most vectors any class has (which guarantees that the best k
// classes by those scores are among them); with float32 vectors kept those
// rows are scored again exactly, so the scores returned are exact cosines
// (float64 sums of the float32 vectors, rounded to float32) and the order
// is exact whenever the exact best rows are among the rows kept.
func (x *Index) Search(probe []float32, k int, minScore float32) []Candidate {
	return x.SearchWorkers(probe, k, minScore, 1)
}

// SearchWorkers is [Index.Search] with the rows split between workers
// goroutines (results are identical for any number of workers).
func (x *Index) SearchWorkers(probe []float32, k int, minScore float32, workers int) []Candidate {
	p, ok := x.prepare(probe)
	if !ok || k <= 0 || x.n == 0 {
		return nil
	}
	if minScore <= -1 {
		minScore = float32(math.Inf(-1))
	}
	k = min(k, x.classes)
	need := k * x.perCls
	if x.rescore > 0 {
		need = max(need, x.rescore)
	}
	need = min(need, x.n)
	floor := math.Inf(-1)
	if x.f32 == nil && x.enc != Bits2 { // the scan's scores are the final ones: prune
		floor = float64(minScore)
	}
	workers = max(1, min(workers, x.n/4096+1))
	var top *topRows
	if workers == 1 {
		top = newTopRows(x.ids, need, floor)
		x.scan(p, 0, x.n, top)
	} else {
		tops := make([]*topRows, workers)
		var wg sync.WaitGroup
		for w := range tops {
			tops[w] = newTopRows(x.ids, need, floor)
			lo, hi := x.n*w/workers, x.n*(w+1)/workers
			lo, hi = lo&^1, hi&^1 // keep row pairs together
			if w == workers-1 {
				hi = x.n
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				x.scan(p, lo, hi, tops[w])
			}()
		}
		wg.Wait()
		top = tops[0]
		for _, t := range tops[1:] {
			for i := range t.row {
				top.offer(t.score[i], t.row[i])
			}
		}
	}
	switch {
	case x.f32 != nil:
		x.rescoreRows(top.row, top.score, p.q)
	case x.enc == Bits2:
		for i, r := range top.row {
			top.score[i] *= float64(x.scale[r]) * p.qs
		}
	}
	return x.classesOf(top.row, top.score, k, minScore)
}

// SearchExact is the reference search: every row scored with float64 sums
// of the float32 vectors, no encoding involved. It needs the float32
// vectors ([ErrNoFloat32] otherwise); k and minScore are as for
// [Index.Search], and a probe Search would reject finds nothing.
func (x *Index) SearchExact(probe []float32, k int, minScore float32) ([]Candidate, error) {
	if x.f32 == nil {
		return nil, ErrNoFloat32
	}
	p, ok := x.prepareFloat(probe)
	if !ok || k <= 0 || x.n == 0 {
		return nil, nil
	}
	if minScore <= -1 {
		minScore = float32(math.Inf(-1))
	}
	k = min(k, x.classes)
	top := newTopRows(x.ids, min(k*x.perCls, x.n), float64(minScore))
	d := x.dims
	r := 0
	for ; r+4 <= x.n; r += 4 {
		s0, s1, s2, s3 := dot4F64(x.f32[r*d:(r+1)*d], x.f32[(r+1)*d:(r+2)*d], x.f32[(r+2)*d:(r+3)*d], x.f32[(r+3)*d:(r+4)*d], p)
		for i, s := range [4]float64{s0, s1, s2, s3} {
			if s > top.min {
				top.offer(s, int32(r+i))
			}
		}
	}
	for ; r < x.n; r++ {
		if s := dotF64(x.f32[r*d:(r+1)*d], p); s > top.min {
			top.offer(s, int32(r))
		}
	}
	return x.classesOf(top.row, top.score, k, minScore), nil
}

// rescoreRows sets scores[i] to the exact score of rows[i], four rows at a
// time in row order (rows and scores are permuted together).
func (x *Index) rescoreRows(rows []int32, scores []float64, q []float32) {
	sort.Sort(byRow{rows, scores})
	d := x.dims
	row := func(r int32) []float32 { return x.f32[int(r)*d : (int(r)+1)*d] }
	i := 0
	for ; i+4 <= len(rows); i += 4 {
		scores[i], scores[i+1], scores[i+2], scores[i+3] = dot4F64(row(rows[i]), row(rows[i+1]), row(rows[i+2]), row(rows[i+3]), q)
	}
	for ; i < len(rows); i++ {
		scores[i] = dotF64(row(rows[i]), q)
	}
}

type byRow struct {
	rows   []int32
	scores []float64
}

func (b byRow) Len() int           { return len(b.rows) }
func (b byRow) Less(i, j int) bool { return b.rows[i] < b.rows[j] }
func (b byRow) Swap(i, j int) {
	b.rows[i], b.rows[j] = b.rows[j], b.rows[i]
	b.scores[i], b.scores[j] = b.scores[j], b.scores[i]
}

// classesOf groups rows by class (best score of each), sorts (score
// descending, class id ascending) and keeps k at or above minScore.
func (x *Index) classesOf(rows []int32, scores []float64, k int, minScore float32) []Candidate {
	best := make(map[uint64]float64, len(rows))
	for i, r := range rows {
		id := x.ids[r]
		if s, ok := best[id]; !ok || scores[i] > s {
			best[id] = scores[i]
		}
	}
	out := make([]Candidate, 0, len(best))
	for id, s := range best {
		if float32(s) >= minScore {
			out = append(out, Candidate{ClassID: id, Score: float32(s)})
		}
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ClassID, b.ClassID)
	})
	if len(out) > k {
		out = out[:k]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// prepared is a probe coded for the index's encoding.
type prepared struct {
	q  []float32 // normalised
	i  []int32   // Int8 codes
	w  []uint64  // Int7 packed even/odd words, Bits2 planes
	qs float64   // Int8, Int7: scale; Bits2: step / 4
	c  int64     // Int7: 64*sum(h) + 4096*dims; Bits2: 9*dims - 6*sum(b)
}

func (x *Index) prepareFloat(probe []float32) ([]float32, bool) {
	if len(probe) != x.dims {
		return nil, false
	}
	inv, ok := invNorm(probe)
	if !ok {
		return nil, false
	}
	q := make([]float32, len(probe))
	for i, v := range probe {
		q[i] = float32(float64(v) * inv)
	}
	return q, true
}

func (x *Index) prepare(probe []float32) (*prepared, bool) {
	q, ok := x.prepareFloat(probe)
	if !ok {
		return nil, false
	}
	p := &prepared{q: q}
	d := x.dims
	switch x.enc {
	case Int8:
		codes := make([]int8, d)
		p.qs = float64(quantize(codes, q, 127))
		p.i = make([]int32, d)
		for j, c := range codes {
			p.i[j] = int32(c)
		}
	case Int7:
		codes := make([]int8, d)
		p.qs = float64(quantize(codes, q, 63))
		p.w = make([]uint64, 2*x.words)
		var sum int64
		for j, c := range codes {
			sum += int64(c)
			v := uint64(uint8(c + 64))
			w, b := j/8, j%8
			// lane 3 - b/2 of the even (b even) or odd word
			p.w[2*w+b%2] |= v << (16 * (3 - b/2))
		}
		p.c = 64*sum + 4096*int64(d)
	case Bits2:
		p.w = make([]uint64, x.words)
		step, sum := packBits2(p.w, q)
		p.qs = float64(step) / 4
		p.c = 9*int64(d) - 6*int64(sum)
	}
	return p, true
}

// scan offers rows [lo, hi) to top with the encoding's scores.
func (x *Index) scan(p *prepared, lo, hi int, top *topRows) {
	d := x.dims
	switch x.enc {
	case Float32:
		for r := lo; r < hi; r++ {
			if s := float64(dotF32(x.f32[r*d:(r+1)*d], p.q)); s > top.min {
				top.offer(s, int32(r))
			}
		}
	case Float16:
		t := half()
		for r := lo; r < hi; r++ {
			if s := float64(dotF16(x.f16[r*d:(r+1)*d], p.q, t)); s > top.min {
				top.offer(s, int32(r))
			}
		}
	case Int8:
		for r := lo; r < hi; r++ {
			s := float64(dotInt8(x.i8[r*d:(r+1)*d], p.i)) * float64(x.scale[r]) * p.qs
			if s > top.min {
				top.offer(s, int32(r))
			}
		}
	case Int7:
		nw := x.words
		r := lo
		for ; r+2 <= hi; r += 2 {
			a, b := dot2Int7(x.w[r*nw:(r+2)*nw], p.w)
			sa := float64(int64(a)-int64(x.bias[r])-p.c) * float64(x.scale[r]) * p.qs
			sb := float64(int64(b)-int64(x.bias[r+1])-p.c) * float64(x.scale[r+1]) * p.qs
			if sa > top.min {
				top.offer(sa, int32(r))
			}
			if sb > top.min {
				top.offer(sb, int32(r+1))
			}
		}
		if r < hi {
			a := dotInt7(x.w[r*nw:(r+1)*nw], p.w)
			if s := float64(int64(a)-int64(x.bias[r])-p.c) * float64(x.scale[r]) * p.qs; s > top.min {
				top.offer(s, int32(r))
			}
		}
	case Bits2:
		// Unit vectors share one step (their RMS, 1/sqrt(dims)), so rows
		// are ranked on the integer part of the score; see bits2Score.
		nw := x.words
		for r := lo; r < hi; r++ {
			ab := int64(dotBits2(x.w[r*nw:(r+1)*nw], p.w))
			if s := float64(4*ab - 6*int64(x.bias[r]) + p.c); s > top.min {
				top.offer(s, int32(r))
			}
		}
	}
}

// topRows keeps the n best (score, row) pairs: a min-heap on score (ties:
// the higher class id, then the higher row, is the worse, the order of the
// results). min is the score a row must reach to be offered (the floor
// until the heap is full).
type topRows struct {
	ids   []uint64
	n     int
	floor float64
	min   float64
	score []float64
	row   []int32
}

func newTopRows(ids []uint64, n int, floor float64) *topRows {
	if math.IsNaN(floor) {
		floor = math.Inf(-1)
	}
	// Rows at exactly the floor qualify: enter above the next lower value.
	floor = math.Nextafter(floor, math.Inf(-1))
	return &topRows{ids: ids, n: n, floor: floor, min: floor, score: make([]float64, 0, n), row: make([]int32, 0, n)}
}

// worse reports whether entry i ranks below (s, r).
func (t *topRows) worse(i int, s float64, r int32) bool {
	if t.score[i] != s {
		return t.score[i] < s
	}
	if a, b := t.ids[t.row[i]], t.ids[r]; a != b {
		return a > b
	}
	return t.row[i] > r
}

func (t *topRows) offer(s float64, r int32) {
	if t.n == 0 || s <= t.floor {
		return
	}
	if len(t.row) < t.n {
		t.score = append(t.score, s)
		t.row = append(t.row, r)
		t.up(len(t.row) - 1)
	} else {
		if !t.worse(0, s, r) {
			return
		}
		t.score[0], t.row[0] = s, r
		t.down(0)
	}
	if len(t.row) == t.n {
		t.min = max(t.floor, math.Nextafter(t.score[0], math.Inf(-1)))
	}
}

func (t *topRows) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.worse(i, t.score[p], t.row[p]) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

func (t *topRows) down(i int) {
	n := len(t.row)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && t.worse(r, t.score[l], t.row[l]) {
			c = r
		}
		if !t.worse(c, t.score[i], t.row[i]) {
			return
		}
		t.swap(i, c)
		i = c
	}
}

func (t *topRows) swap(i, j int) {
	t.score[i], t.score[j] = t.score[j], t.score[i]
	t.row[i], t.row[j] = t.row[j], t.row[i]
}
