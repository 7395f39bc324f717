package gallery

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// modes are every encoding with and without re-scoring.
var modes = []Options{
	{Encoding: Float32},
	{Encoding: Float16}, {Encoding: Float16, Rescore: 64},
	{Encoding: Int8, Rescore: -1}, {Encoding: Int8},
	{Encoding: Int7, Rescore: -1}, {Encoding: Int7},
	{Encoding: Bits2, Rescore: -1}, {Encoding: Bits2},
}

func modeName(o Options) string {
	if o.Rescore < 0 {
		return o.Encoding.String() + "/raw"
	}
	return o.Encoding.String()
}

func randomUnit(r *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	var s float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		s += x * x
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(s))
	}
	return v
}

func mateOf(r *rand.Rand, v []float32, c float64) []float32 {
	u := randomUnit(r, len(v))
	var dot float64
	for i := range u {
		dot += float64(u[i]) * float64(v[i])
	}
	var s float64
	for i := range u {
		u[i] -= float32(dot) * v[i]
		s += float64(u[i]) * float64(u[i])
	}
	k := math.Sqrt(1-c*c) / math.Sqrt(s)
	out := make([]float32, len(v))
	for i := range u {
		out[i] = float32(c*float64(v[i]) + k*float64(u[i]))
	}
	return out
}

func mustBuild(t testing.TB, dims int, entries []Entry, o Options) *Index {
	t.Helper()
	x, err := Build(dims, entries, o)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// handEntries: 4-d vectors with known cosines against probe (1,0,0,0).
func handEntries() []Entry {
	return []Entry{
		{ClassID: 10, Vector: []float32{0.2, 1, 0, 0}},
		{ClassID: 20, Vector: []float32{0.9, 0.1, 0.2, 0}}, // ~0.97
		{ClassID: 30, Vector: []float32{-1, 0, 0, 0}},      // -1
		{ClassID: 40, Vector: []float32{0.5, 0.5, 0.5, 0.5}},
		{ClassID: 10, Vector: []float32{0.6, 0, 0.8, 0}}, // 0.6: class 10's best
		{ClassID: 50, Vector: []float32{0, 0, 0, 3}},     // 0 (not unit: normalised)
	}
}

func TestSearchExactHand(t *testing.T) {
	x := mustBuild(t, 4, handEntries(), Options{Encoding: Float32})
	probe := []float32{2, 0, 0, 0} // normalised too
	got, err := x.SearchExact(probe, 10, -1)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []uint64{20, 10, 40, 50, 30}
	wantScores := []float64{0.9 / math.Sqrt(0.81+0.01+0.04), 0.6, 0.5, 0, -1}
	if len(got) != len(wantIDs) {
		t.Fatalf("got %v", got)
	}
	for i := range got {
		if got[i].ClassID != wantIDs[i] || math.Abs(float64(got[i].Score)-wantScores[i]) > 1e-6 {
			t.Fatalf("rank %d: %+v, want class %d score %.6f (all %v)", i, got[i], wantIDs[i], wantScores[i], got)
		}
	}
	// k and the cut-off (inclusive).
	if got, _ := x.SearchExact(probe, 2, -1); len(got) != 2 || got[1].ClassID != 10 {
		t.Fatalf("k=2: %v", got)
	}
	if got, _ := x.SearchExact(probe, 10, 0.5); len(got) != 3 || got[2].ClassID != 40 {
		t.Fatalf("minScore 0.5 (inclusive): %v", got)
	}
	if got, _ := x.SearchExact(probe, 10, 0.99); got != nil {
		t.Fatalf("minScore 0.99: %v", got)
	}
	for _, bad := range [][]float32{{1, 0, 0}, {0, 0, 0, 0}, {float32(math.NaN()), 0, 0, 0}, {float32(math.Inf(1)), 0, 0, 0}} {
		if got := x.Search(bad, 10, -1); got != nil {
			t.Fatalf("probe %v: %v", bad, got)
		}
	}
	if got := x.Search(probe, 0, -1); got != nil {
		t.Fatalf("k=0: %v", got)
	}
	if x.Classes() != 5 || x.Len() != 6 || x.Dims() != 4 {
		t.Fatalf("classes %d len %d dims %d", x.Classes(), x.Len(), x.Dims())
	}
}

func TestSearchEveryModeHand(t *testing.T) {
	want := []uint64{20, 10, 40, 50, 30}
	for _, o := range modes {
		x := mustBuild(t, 4, handEntries(), o)
		got := x.Search([]float32{1, 0, 0, 0}, 10, -1)
		var ids []uint64
		for _, c := range got {
			ids = append(ids, c.ClassID)
		}
		// The raw 2-bit codes of 4-d vectors are too coarse to order them.
		if o.Encoding == Bits2 && o.Rescore < 0 {
			continue
		}
		if !slices.Equal(ids, want) {
			t.Errorf("%s: %v, want %v", modeName(o), got, want)
		}
	}
}

func TestTies(t *testing.T) {
	// Identical vectors in several classes: lower class id first, for
	// every encoding, worker count and k.
	v := []float32{0.3, -0.2, 0.9, 0.1, 0.05, -0.4, 0.2, 0.7}
	var entries []Entry
	for _, id := range []uint64{7, 3, 9, 1, 5} {
		entries = append(entries, Entry{ClassID: id, Vector: v})
	}
	entries = append(entries, Entry{ClassID: 2, Vector: []float32{1, 0, 0, 0, 0, 0, 0, 0}})
	for _, o := range modes {
		x := mustBuild(t, 8, entries, o)
		for _, k := range []int{1, 3, 5, 6} {
			got := x.Search(v, k, -1)
			want := []uint64{1, 3, 5, 7, 9, 2}[:k]
			var ids []uint64
			for _, c := range got {
				ids = append(ids, c.ClassID)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("%s k=%d: %v, want %v", modeName(o), k, got, want)
			}
			if len(got) > 1 && got[0].Score != got[1].Score {
				t.Errorf("%s: tied scores differ: %v", modeName(o), got)
			}
		}
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := NewBuilder(0); err == nil {
		t.Fatal("0 dims accepted")
	}
	if _, err := NewBuilder(MaxDims + 1); err == nil {
		t.Fatal("too many dims accepted")
	}
	b, _ := NewBuilder(3)
	if err := b.Add(1, []float32{1, 2}); !errors.Is(err, ErrDims) {
		t.Fatalf("short vector: %v", err)
	}
	if err := b.Add(1, []float32{0, 0, 0}); !errors.Is(err, ErrVector) {
		t.Fatalf("zero vector: %v", err)
	}
	if err := b.Add(1, []float32{1, float32(math.NaN()), 0}); !errors.Is(err, ErrVector) {
		t.Fatalf("NaN: %v", err)
	}
	if _, err := b.Build(Options{Encoding: 99}); err == nil {
		t.Fatal("unknown encoding accepted")
	}
	x := mustBuild(t, 3, []Entry{{1, []float32{1, 0, 0}}}, Options{Encoding: Int7, Rescore: -1})
	if _, err := x.SearchExact([]float32{1, 0, 0}, 1, -1); !errors.Is(err, ErrNoFloat32) {
		t.Fatalf("SearchExact without float32: %v", err)
	}
	empty := mustBuild(t, 3, nil, Options{})
	if got := empty.Search([]float32{1, 0, 0}, 5, -1); got != nil {
		t.Fatalf("empty index: %v", got)
	}
}

func TestFloat16(t *testing.T) {
	cases := map[float32]uint16{
		0: 0, 1: 0x3c00, -2: 0xc000, 65504: 0x7bff, 65520: 0x7c00, 1e9: 0x7c00,
		float32(math.Inf(-1)): 0xfc00, 6.103515625e-05: 0x0400, // smallest normal
		5.960464477539063e-08: 0x0001, // smallest subnormal
		2.98e-08:              0x0000, // below half of it
		1.0009765625:          0x3c01, // 1 + 2^-10
		1.00048828125:         0x3c00, // 1 + 2^-11: tie, to even
		1.00146484375:         0x3c02, // 1 + 3*2^-11: tie, to even
	}
	for f, h := range cases {
		if got := toFloat16(f); got != h {
			t.Errorf("toFloat16(%v) = %#04x, want %#04x", f, got, h)
		}
	}
	if h := toFloat16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN -> %#04x", h)
	}
	// Every finite half survives the round trip.
	for h := 0; h < 1<<16; h++ {
		if uint16(h)&0x7c00 == 0x7c00 {
			continue
		}
		if got := toFloat16(fromFloat16(uint16(h))); got != uint16(h) && !(h == 0x8000 && got == 0x8000) {
			t.Fatalf("round trip %#04x -> %v -> %#04x", h, fromFloat16(uint16(h)), got)
		}
	}
	// Relative error of normal values is at most 2^-11.
	r := rand.New(rand.NewPCG(4, 4))
	for i := 0; i < 100000; i++ {
		f := float32(r.NormFloat64() * 0.05)
		if math.Abs(float64(f)) < 6.2e-5 {
			continue
		}
		if e := math.Abs(float64(fromFloat16(toFloat16(f))-f) / float64(f)); e > 1.0/2048 {
			t.Fatalf("%v: relative error %v", f, e)
		}
	}
}

// TestEncodingsRoundTrip decodes every encoding's rows and bounds the error.
func TestEncodingsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	const d, n = 100, 50 // 100: not a multiple of 8 or 64
	var entries []Entry
	for i := 0; i < n; i++ {
		entries = append(entries, Entry{ClassID: uint64(i), Vector: randomUnit(r, d)})
	}
	bound := map[Encoding]float64{Float32: 0, Float16: 0, Int8: 0.5 / 127, Int7: 0.5 / 63}
	for enc, b := range bound {
		x := mustBuild(t, d, entries, Options{Encoding: enc, Rescore: -1})
		for i, e := range entries {
			v := x.Vector(i)
			var m float64
			for _, c := range e.Vector {
				m = max(m, math.Abs(float64(c)))
			}
			for j := range v {
				lim := b * m * 1.0001
				if enc == Float16 {
					lim = math.Abs(float64(e.Vector[j])) / 2048
				}
				if diff := math.Abs(float64(v[j] - e.Vector[j])); diff > lim+1e-9 {
					t.Fatalf("%v row %d dim %d: %v vs %v", enc, i, j, v[j], e.Vector[j])
				}
			}
		}
	}
	// Bits2 decodes to its four levels, with the right signs.
	x := mustBuild(t, d, entries, Options{Encoding: Bits2, Rescore: -1})
	for i, e := range entries {
		v := x.Vector(i)
		for j := range v {
			if (v[j] >= 0) != (e.Vector[j] >= 0) {
				t.Fatalf("bits2 row %d dim %d: %v vs %v", i, j, v[j], e.Vector[j])
			}
		}
	}
	// Approximate scores of the raw integer encodings are close to exact.
	probe := randomUnit(r, d)
	ref := mustBuild(t, d, entries, Options{Encoding: Float32})
	exact, _ := ref.SearchExact(probe, n, -1)
	for enc, tol := range map[Encoding]float64{Float16: 1e-3, Int8: 0.01, Int7: 0.02, Bits2: 0.25} {
		x := mustBuild(t, d, entries, Options{Encoding: enc, Rescore: -1})
		got := x.Search(probe, n, -1)
		score := map[uint64]float32{}
		for _, c := range got {
			score[c.ClassID] = c.Score
		}
		for _, c := range exact {
			if diff := math.Abs(float64(score[c.ClassID] - c.Score)); diff > tol {
				t.Errorf("%v class %d: %v vs exact %v", enc, c.ClassID, score[c.ClassID], c.Score)
			}
		}
	}
}

// TestAgreementSynthetic checks every mode against the exact search on
// random unit vectors with planted mates (cosine 0.6-0.7) and non-mated
// probes.
func TestAgreementSynthetic(t *testing.T) {
	n, queries := 20000, 40
	if testing.Short() {
		n, queries = 5000, 20
	}
	const d = 512
	r := rand.New(rand.NewPCG(6, 6))
	ids := make([]uint64, n)
	vecs := make([]float32, 0, n*d)
	for i := range ids {
		ids[i] = uint64(1000 + i)
		vecs = append(vecs, randomUnit(r, d)...)
	}
	ref, err := FromVectors(d, ids, vecs, Options{Encoding: Float32})
	if err != nil {
		t.Fatal(err)
	}
	probes := make([][]float32, queries)
	mates := make([]uint64, queries)
	for q := range probes {
		if q%2 == 0 {
			row := r.IntN(n)
			probes[q] = mateOf(r, vecs[row*d:(row+1)*d], 0.6+0.1*r.Float64())
			mates[q] = ids[row]
		} else {
			probes[q] = randomUnit(r, d)
		}
	}
	exact := make([][]Candidate, queries)
	for q, p := range probes {
		exact[q], _ = ref.SearchExact(p, 10, -1)
		if mates[q] != 0 && exact[q][0].ClassID != mates[q] {
			t.Fatalf("probe %d: exact top %v is not the planted mate %d", q, exact[q][0], mates[q])
		}
	}
	for _, o := range modes {
		x, err := FromVectors(d, ids, vecs, o)
		if err != nil {
			t.Fatal(err)
		}
		var top1, top1m, overlap int
		for q, p := range probes {
			got := x.Search(p, 10, -1)
			if got[0].ClassID == exact[q][0].ClassID {
				top1++
				if mates[q] != 0 {
					top1m++
				}
			}
			in := map[uint64]bool{}
			for _, c := range exact[q] {
				in[c.ClassID] = true
			}
			for _, c := range got {
				if in[c.ClassID] {
					overlap++
				}
			}
			if x.f32 != nil && got[0].ClassID == exact[q][0].ClassID && got[0].Score != exact[q][0].Score {
				t.Errorf("%s: re-scored top score %v differs from exact %v", modeName(o), got[0].Score, exact[q][0].Score)
			}
			if q == 0 {
				if w := x.SearchWorkers(p, 10, -1, 3); !slices.Equal(w, got) {
					t.Errorf("%s: 3 workers %v, 1 worker %v", modeName(o), w, got)
				}
			}
		}
		t.Logf("%-12s top-1 agreement %d/%d (mated %d/%d), top-10 overlap %.3f", modeName(o), top1, queries, top1m, queries/2,
			float64(overlap)/float64(10*queries))
		if top1m != queries/2 {
			t.Errorf("%s: planted mates found %d/%d", modeName(o), top1m, queries/2)
		}
		// Re-scored modes must agree exactly on these sizes.
		if x.f32 != nil && top1 != queries {
			t.Errorf("%s: top-1 agreement %d/%d", modeName(o), top1, queries)
		}
	}
}

func TestMultiVectorClasses(t *testing.T) {
	// Classes of up to 5 vectors: the class score is its best vector's,
	// and the best k classes are right even when one class owns the best
	// rows.
	r := rand.New(rand.NewPCG(7, 7))
	const d = 64
	probe := randomUnit(r, d)
	var entries []Entry
	for i := 0; i < 5; i++ { // class 1: five near-copies of the probe
		entries = append(entries, Entry{ClassID: 1, Vector: mateOf(r, probe, 0.95+0.01*float64(i))})
	}
	for id := uint64(2); id < 200; id++ {
		for j := 0; j < 1+int(id%3); j++ {
			entries = append(entries, Entry{ClassID: id, Vector: randomUnit(r, d)})
		}
	}
	entries = append(entries, Entry{ClassID: 77, Vector: mateOf(r, probe, 0.8)})
	for _, o := range modes {
		x := mustBuild(t, d, entries, o)
		got := x.Search(probe, 2, -1)
		if len(got) != 2 || got[0].ClassID != 1 || got[1].ClassID != 77 {
			t.Errorf("%s: %v", modeName(o), got)
		}
		if x.f32 != nil && math.Abs(float64(got[0].Score)-0.99) > 1e-5 {
			t.Errorf("%s: class 1 score %v, want its best vector's 0.99", modeName(o), got[0].Score)
		}
	}
}

func TestParseEncoding(t *testing.T) {
	for _, e := range Encodings() {
		got, err := ParseEncoding(e.String())
		if err != nil || got != e {
			t.Errorf("%v: %v %v", e, got, err)
		}
		if e.BytesPerVector(512) <= 0 {
			t.Errorf("%v: bytes per vector", e)
		}
	}
	if _, err := ParseEncoding("int4"); err == nil {
		t.Error("int4 accepted")
	}
	if Encoding(0).Valid() || Encoding(9).String() != "Encoding(9)" {
		t.Error("invalid encodings")
	}
}

func TestDefaults(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, tc := range []struct {
		n       int
		enc     Encoding
		rescore int
	}{{SmallGallery - 1, Float32, 0}, {SmallGallery, DefaultEncoding, DefaultRescore}, {RescoreDivisor * 2000, DefaultEncoding, 2000}} {
		ids := make([]uint64, tc.n)
		vecs := make([]float32, 0, tc.n*8)
		for i := range ids {
			ids[i] = uint64(i)
			vecs = append(vecs, randomUnit(r, 8)...)
		}
		x, err := FromVectors(8, ids, vecs, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if x.Encoding() != tc.enc || x.Rescore() != tc.rescore {
			t.Errorf("%d rows: %v re-scoring %d, want %v and %d", tc.n, x.Encoding(), x.Rescore(), tc.enc, tc.rescore)
		}
	}
}
