package calibration

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScore(t *testing.T) {
	tests := []struct{ far, want float64 }{
		{1, 1500},
		{0.1, 2000},
		{1e-2, 2500},
		{1e-3, 3000},
		{1e-4, 3500},
		{1e-5, 4000},
		{1e-6, 4500},
		{1e-12, 7500},
		{1e-15, 7500}, // clamped
		{0, 7500},
		{2, 1500},
		{math.NaN(), 1500},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Score(tt.far), "Score(%v)", tt.far)
	}
	assert.InDelta(t, 1500+500*math.Log10(2), Score(0.5), 1e-6)
}

// syntheticImpostors returns n draws of normal(0, sigma), clipped to [-1, 1].
func syntheticImpostors(n int, sigma float64) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(max(-1, min(1, r.NormFloat64()*sigma)))
	}
	return s
}

var (
	syntheticOnce  sync.Once
	syntheticData  []float32
	syntheticTable *Table
	syntheticErr   error
)

// synthetic builds a table from 1e6 normal(0, 0.1) impostor scores.
func synthetic(t *testing.T) ([]float32, *Table) {
	t.Helper()
	syntheticOnce.Do(func() {
		syntheticData = syntheticImpostors(1_000_000, 0.1)
		syntheticTable, syntheticErr = Build(syntheticData, "fr_feature-512-v1", "synthetic normal(0, 0.1)")
	})
	require.NoError(t, syntheticErr)
	return syntheticData, syntheticTable
}

func empiricalFAR(sorted []float32, c float64) float64 {
	i := sort.Search(len(sorted), func(i int) bool { return float64(sorted[i]) >= c })
	return float64(len(sorted)-i) / float64(len(sorted))
}

func TestBuildMatchesEmpiricalFAR(t *testing.T) {
	data, tab := synthetic(t)
	sorted := slices.Sorted(slices.Values(data))

	assert.Equal(t, int64(len(data)), tab.Impostors)
	assert.Equal(t, "fr_feature-512-v1", tab.Encoder)
	require.NoError(t, tab.Validate())
	assert.Equal(t, 0.5, tab.Points[0].FAR)

	// Measured points go down to minTail/n = 1e-4, then extrapolated ones follow.
	var lastMeasured Point
	for _, p := range tab.Points {
		if !p.Extrapolated {
			lastMeasured = p
		}
	}
	assert.InDelta(t, float64(minTail)/float64(len(data)), lastMeasured.FAR, 1e-4*0.01)
	assert.True(t, tab.Points[len(tab.Points)-1].Extrapolated)

	// Beyond the measured tail (FAR < 1e-4, cosine 0.4 here) the exponential
	// extrapolation may only err towards overstating FAR.
	emp, got := empiricalFAR(sorted, 0.4), tab.FAR(0.4)
	assert.Truef(t, got/emp > 0.9 && got/emp < 2.5, "FAR(0.4) = %.3g, empirical %.3g", got, emp)

	for _, c := range []float64{-0.2, -0.05, 0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35} {
		emp := empiricalFAR(sorted, c)
		got := tab.FAR(c)
		ratio := got / emp
		assert.Truef(t, ratio > 1/1.3 && ratio < 1.3, "FAR(%v) = %.3g, empirical %.3g (ratio %.3f)", c, got, emp, ratio)
	}
}

func TestBuildExtrapolatedTail(t *testing.T) {
	_, tab := synthetic(t)
	last := tab.Points[len(tab.Points)-1]
	assert.True(t, last.Extrapolated)
	// For normal(0, 0.1) FAR reaches 1e-12 near cosine 0.7, well below 1.
	assert.InDelta(t, MinFAR, last.FAR, MinFAR*1e-6)
	assert.Less(t, last.Cosine, 1.0)

	// The log-linear tail overstates a Gaussian tail, never understates it.
	for _, c := range []float64{0.45, 0.5, 0.55, 0.6} {
		gauss := 0.5 * math.Erfc(c/0.1/math.Sqrt2)
		got := tab.FAR(c)
		assert.GreaterOrEqualf(t, got, gauss, "FAR(%v)", c)
		assert.Lessf(t, got, 1e4*gauss, "FAR(%v)", c)
	}
	assert.Equal(t, last.FAR, tab.FAR(1))
}

func TestBuildShallowTailStopsAtCosineOne(t *testing.T) {
	// Impostors spread uniformly over [-1, 1]: the fitted tail reaches
	// cosine 1 long before MinFAR.
	r := rand.New(rand.NewPCG(3, 4))
	s := make([]float32, 10_000)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	tab, err := Build(s, "e", "uniform")
	require.NoError(t, err)
	last := tab.Points[len(tab.Points)-1]
	assert.Equal(t, 1.0, last.Cosine)
	assert.True(t, last.Extrapolated)
	assert.Greater(t, last.FAR, MinFAR)
	assertMonotone(t, tab)
}

func assertMonotone(t *testing.T, tab *Table) {
	t.Helper()
	prev := math.Inf(1)
	for i := 0; i <= 200_000; i++ {
		c := -1 + 2*float64(i)/200_000
		f := tab.FAR(c)
		if !(f > 0 && f <= 1) {
			t.Fatalf("FAR(%v) = %v, want in (0, 1]", c, f)
		}
		if f > prev {
			t.Fatalf("FAR not monotone: FAR(%v) = %v > %v just below", c, f, prev)
		}
		prev = f
	}
}

func TestFARMonotone(t *testing.T) {
	_, tab := synthetic(t)
	assertMonotone(t, tab)
	assert.Equal(t, 1.0, tab.FAR(-1))
	assert.Equal(t, 1.0, tab.FAR(math.NaN()))
	assert.Equal(t, tab.Points[len(tab.Points)-1].FAR, tab.FAR(2))
	for _, p := range tab.Points {
		assert.InDelta(t, p.FAR, tab.FAR(p.Cosine), p.FAR*1e-9)
	}
}

func TestFARInterpolation(t *testing.T) {
	tab := &Table{Points: []Point{{0.1, 0.1, false}, {0.2, 0.01, false}, {0.4, 1e-4, true}}}
	tests := []struct{ cosine, want float64 }{
		{0.1, 0.1},
		{0.15, math.Pow(10, -1.5)},
		{0.2, 0.01},
		{0.3, 1e-3},
		{0.4, 1e-4},
		{0.9, 1e-4},                     // above the last point
		{0.05, 0.1 * math.Pow(10, 0.5)}, // first segment continued
		{0, 1},                          // ...and capped at 1
		{-1, 1},
	}
	for _, tt := range tests {
		assert.InDelta(t, tt.want, tab.FAR(tt.cosine), tt.want*1e-9, "FAR(%v)", tt.cosine)
	}
}

func TestBuildErrors(t *testing.T) {
	_, err := Build(make([]float32, 10), "e", "s")
	assert.ErrorContains(t, err, "need at least 1000")

	s := syntheticImpostors(2000, 0.1)
	s[7] = float32(math.NaN())
	_, err = Build(s, "e", "s")
	assert.ErrorContains(t, err, "NaN")

	_, err = Build(make([]float32, 5000), "e", "s") // all equal
	assert.ErrorContains(t, err, "too concentrated")
}

func TestBuildTies(t *testing.T) {
	// Scores quantised to 0.01 produce many ties.
	s := syntheticImpostors(100_000, 0.1)
	for i, v := range s {
		s[i] = float32(math.Round(float64(v)*100) / 100)
	}
	tab, err := Build(s, "e", "quantised")
	require.NoError(t, err)
	assertMonotone(t, tab)
}

func TestBuildDoesNotModifyInput(t *testing.T) {
	s := syntheticImpostors(5000, 0.1)
	orig := slices.Clone(s)
	_, err := Build(s, "e", "s")
	require.NoError(t, err)
	assert.Equal(t, orig, s)
}

func TestSaveLoad(t *testing.T) {
	_, tab := synthetic(t)
	path := filepath.Join(t.TempDir(), "calibration.json")
	require.NoError(t, tab.Save(path))
	got, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, tab, got)

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	for _, key := range []string{"encoder", "source", "impostor_pairs", "created", "points"} {
		assert.Contains(t, raw, key)
	}
	assert.Contains(t, string(b), `"extrapolated": true`)
	assert.Contains(t, string(b), `"cosine":`)
	assert.Contains(t, string(b), `"far":`)

	_, err = Load(filepath.Join(t.TempDir(), "missing.json"))
	assert.Error(t, err)
	assert.Error(t, (&Table{}).Save(path), "invalid table")
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, json, message string
	}{
		{"not JSON", `{`, "invalid table JSON"},
		{"no points", `{"encoder":"e","points":[]}`, "need at least 2"},
		{"one point", `{"points":[{"cosine":0.1,"far":0.1}]}`, "need at least 2"},
		{"cosine not ascending", `{"points":[{"cosine":0.2,"far":0.1},{"cosine":0.1,"far":0.01}]}`, "cosine 0.1 does not increase"},
		{"equal cosines", `{"points":[{"cosine":0.2,"far":0.1},{"cosine":0.2,"far":0.01}]}`, "does not increase"},
		{"FAR rising", `{"points":[{"cosine":0.1,"far":0.01},{"cosine":0.2,"far":0.1}]}`, "FAR 0.1 does not decrease"},
		{"FAR flat", `{"points":[{"cosine":0.1,"far":0.01},{"cosine":0.2,"far":0.01}]}`, "does not decrease"},
		{"FAR zero", `{"points":[{"cosine":0.1,"far":0.01},{"cosine":0.2,"far":0}]}`, "outside (0, 1]"},
		{"FAR above 1", `{"points":[{"cosine":0.1,"far":1.5},{"cosine":0.2,"far":0.1}]}`, "outside (0, 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json))
			assert.ErrorContains(t, err, tt.message)
		})
	}
	tab, err := Parse([]byte(`{"encoder":"e","points":[{"cosine":0.1,"far":0.01},{"cosine":0.2,"far":0.001,"extrapolated":true}]}`))
	require.NoError(t, err)
	assert.True(t, tab.Points[1].Extrapolated)
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{
		"MEDIUM": Medium, "medium": Medium, " High ": High, "very_high": VeryHigh,
		"VERY-HIGH": VeryHigh, "very high": VeryHigh, "Highest": Highest,
	} {
		got, err := ParseLevel(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "LOW", "veryhigh", "HIGHER"} {
		_, err := ParseLevel(in)
		assert.ErrorIs(t, err, ErrUnknownLevel)
		assert.ErrorContains(t, err, "MEDIUM, HIGH, VERY_HIGH and HIGHEST")
	}
	assert.Equal(t, []Level{Medium, High, VeryHigh, Highest}, Levels())
}

func TestFARAt(t *testing.T) {
	want := map[Kind][]float64{
		Selfie:   {1e-3, 1e-4, 1e-5, 1e-6},
		Document: {1.0 / 200, 1e-3, 2e-4, 1e-4},
	}
	for k, fars := range want {
		for i, l := range Levels() {
			assert.Equal(t, fars[i], k.FARAt(l), "%v %v", k, l)
		}
	}
	assert.Zero(t, Selfie.FARAt("LOW"))
	assert.Zero(t, Kind(9).FARAt(Medium))
	assert.False(t, Selfie.Reached(0, "LOW"))
}

func TestHighestReached(t *testing.T) {
	tests := []struct {
		kind  Kind
		far   float64
		want  Level
		reach bool
	}{
		{Selfie, 1, "", false},
		{Selfie, 1.0001e-3, "", false},
		{Selfie, 1e-3, Medium, true},
		{Selfie, 0.99e-3, Medium, true},
		{Selfie, 1.0001e-4, Medium, true},
		{Selfie, 1e-4, High, true},
		{Selfie, 1e-5, VeryHigh, true},
		{Selfie, 1.0001e-6, VeryHigh, true},
		{Selfie, 1e-6, Highest, true},
		{Selfie, 1e-12, Highest, true},
		{Selfie, math.NaN(), "", false},
		{Document, 0.0051, "", false},
		{Document, 1.0 / 200, Medium, true},
		{Document, 1.1e-3, Medium, true},
		{Document, 1e-3, High, true},
		{Document, 2.0001e-4, High, true},
		{Document, 2e-4, VeryHigh, true},
		{Document, 1.0001e-4, VeryHigh, true},
		{Document, 1e-4, Highest, true},
	}
	for _, tt := range tests {
		got, ok := tt.kind.HighestReached(tt.far)
		assert.Equal(t, tt.reach, ok, "%v %v", tt.kind, tt.far)
		assert.Equal(t, tt.want, got, "%v %v", tt.kind, tt.far)
		for _, l := range Levels() {
			want := ok && levelIndex(l) <= levelIndex(got)
			assert.Equal(t, want, tt.kind.Reached(tt.far, l), "%v Reached(%v, %v)", tt.kind, tt.far, l)
		}
	}
}

func TestSimilarityScore(t *testing.T) {
	pinned := map[Kind][]float64{Selfie: {80, 90, 95, 98}, Document: {60, 80, 85, 90}}
	for k, scores := range pinned {
		for i, l := range Levels() {
			assert.Equal(t, scores[i], k.SimilarityScore(k.FARAt(l)), "%v %v", k, l)
		}
		assert.Equal(t, 0.0, k.SimilarityScore(1))
		assert.Equal(t, 0.0, k.SimilarityScore(5))
		assert.Equal(t, 0.0, k.SimilarityScore(math.NaN()))
		assert.Equal(t, 100.0, k.SimilarityScore(MinFAR))
		assert.Equal(t, 100.0, k.SimilarityScore(0))

		// Monotone and continuous over a fine sweep of -log10(FAR).
		prev := 0.0
		for i := 0; i <= 130_000; i++ {
			far := math.Pow(10, -float64(i)/10_000)
			s := k.SimilarityScore(far)
			require.GreaterOrEqualf(t, s, prev, "%v: SimilarityScore(%v)", k, far)
			require.LessOrEqualf(t, s-prev, 0.01, "%v: jump at %v", k, far)
			require.True(t, s >= 0 && s <= 100)
			prev = s
		}
	}
	// Linear in -log10(FAR) between anchors.
	assert.InDelta(t, 85, Selfie.SimilarityScore(math.Pow(10, -3.5)), 1e-9)
	assert.InDelta(t, 40, Selfie.SimilarityScore(math.Pow(10, -1.5)), 1e-9)
	assert.InDelta(t, 99, Selfie.SimilarityScore(1e-9), 1e-9)
	assert.Equal(t, 0.0, Kind(7).SimilarityScore(1e-6))
}

func TestKindString(t *testing.T) {
	assert.Equal(t, "selfie", Selfie.String())
	assert.Equal(t, "document", Document.String())
	assert.True(t, strings.HasPrefix(Kind(5).String(), "Kind("))
}

func BenchmarkBuild(b *testing.B) {
	s := syntheticImpostors(1_000_000, 0.1)
	for b.Loop() {
		if _, err := Build(s, "e", "s"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCosineAtInvertsFAR(t *testing.T) {
	_, tab := synthetic(t)
	for _, far := range []float64{1e-2, 1e-3, 1e-4, 1e-6} {
		c := tab.CosineAt(far)
		assert.LessOrEqual(t, tab.FAR(c), far*(1+1e-9))
		assert.Greater(t, tab.FAR(c-1e-6), far*(1-1e-6), "the lowest such cosine")
	}
}
