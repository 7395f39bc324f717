package evaluation

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/calibration"
)

func TestClopperPearson(t *testing.T) {
	tests := []struct {
		name   string
		k, n   int
		lo, hi float64
	}{
		// Closed forms at the ends: (alpha/2)^(1/n) and 1 - (alpha/2)^(1/n).
		{name: "none of 10", k: 0, n: 10, lo: 0, hi: 1 - math.Pow(0.025, 0.1)},
		{name: "all of 10", k: 10, n: 10, lo: math.Pow(0.025, 0.1), hi: 1},
		{name: "none of 1500", k: 0, n: 1500, lo: 0, hi: 1 - math.Pow(0.025, 1.0/1500)},
		// One success: P(X >= 1) = 1 - (1-p)^n = 0.025.
		{name: "one of 1500, lower", k: 1, n: 1500, lo: 1 - math.Pow(0.975, 1.0/1500), hi: -1},
		// Published values for 1/10 and 5/10.
		{name: "one of 10", k: 1, n: 10, lo: 0.002529, hi: 0.445016},
		{name: "half of 10", k: 5, n: 10, lo: 0.187086, hi: 0.812914},
		{name: "no trials", k: 0, n: 0, lo: 0, hi: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := clopperPearson(tt.k, tt.n, 0.05)
			assert.InDelta(t, tt.lo, lo, 1e-6+1e-6*tt.lo)
			if tt.hi >= 0 {
				assert.InDelta(t, tt.hi, hi, 1e-6+1e-6*tt.hi)
			}
		})
	}
}

// TestClopperPearsonLarge checks the interval on a large sample against the
// normal approximation, which is close there, and that it stays fast.
func TestClopperPearsonLarge(t *testing.T) {
	const k, n = 100_000, 10_000_000
	start := time.Now()
	lo, hi := clopperPearson(k, n, 0.05)
	p := float64(k) / n
	half := 1.96 * math.Sqrt(p*(1-p)/n)
	assert.InEpsilon(t, p-half, lo, 2e-3)
	assert.InEpsilon(t, p+half, hi, 2e-3)
	assert.Less(t, time.Since(start), 5*time.Second)
}

// TestBinomialCDF compares the log-space sum with a direct sum of
// C(n, i) p^i (1-p)^(n-i) on small samples.
func TestBinomialCDF(t *testing.T) {
	direct := func(k, n int, p float64) float64 {
		s, c := 0.0, 1.0 // c = C(n, i)
		for i := 0; i <= k; i++ {
			s += c * math.Pow(p, float64(i)) * math.Pow(1-p, float64(n-i))
			c = c * float64(n-i) / float64(i+1)
		}
		return s
	}
	for _, n := range []int{1, 7, 30, 60} {
		for _, p := range []float64{1e-4, 0.01, 0.3, 0.5, 0.9} {
			for k := 0; k <= n; k += max(1, n/6) {
				assert.InDelta(t, direct(k, n, p), binomialCDF(k, n, p), 1e-12, "k=%d n=%d p=%v", k, n, p)
			}
		}
	}
	assert.Equal(t, 0.0, binomialCDF(-1, 10, 0.5))
	assert.Equal(t, 1.0, binomialCDF(3, 10, 0))
	assert.Equal(t, 0.0, binomialCDF(3, 10, 1))
}

// farTable is a synthetic calibration table: FAR falls a decade per 0.1 of
// cosine from 0.1 at cosine 0.1, measured down to 1e-3 (cosine 0.3) and
// extrapolated beyond.
func farTable(t *testing.T) *calibration.Table {
	t.Helper()
	tb := &calibration.Table{Encoder: "synthetic", Source: "test", Impostors: 100_000, Points: []calibration.Point{
		{Cosine: 0, FAR: 0.5},
		{Cosine: 0.1, FAR: 0.1},
		{Cosine: 0.2, FAR: 1e-2},
		{Cosine: 0.3, FAR: 1e-3},
		{Cosine: 0.4, FAR: 1e-4, Extrapolated: true},
		{Cosine: 0.5, FAR: 1e-5, Extrapolated: true},
	}}
	require.NoError(t, tb.Validate())
	return tb
}

// scores returns n copies of s.
func scores(n int, s float64) []float64 { return slices.Repeat([]float64{s}, n) }

func TestCheckFAR(t *testing.T) {
	tb := farTable(t)
	at2 := tb.CosineAt(1e-2) // the threshold of FAR 1e-2, about 0.2
	type want struct {
		far                 float64
		impostor, accepted  int
		genuine, genAccept  int
		checkable, extrapol bool
		verdict             Verdict
	}
	tests := []struct {
		name     string
		gen, imp []float64
		fars     []float64
		want     []want
	}{
		{
			// 10 of 1000 accepted at 1e-2, as predicted; 1000 pairs are
			// too few for 1e-3 (3,000 needed), even with none accepted.
			name: "consistent at 1e-2, too few at 1e-3",
			gen:  []float64{0.9, 0.35, 0.25, 0.1},
			imp:  append(scores(10, 0.25), scores(990, 0.05)...),
			fars: []float64{1e-2, 1e-3},
			want: []want{
				{far: 1e-2, impostor: 1000, accepted: 10, genuine: 4, genAccept: 3, checkable: true, verdict: Consistent},
				{far: 1e-3, impostor: 1000, accepted: 0, genuine: 4, genAccept: 2, checkable: false, verdict: TooFew},
			},
		},
		{
			// 40 of 1000 accepted where 10 are predicted: the interval
			// [0.029, 0.054] lies above 0.01.
			name: "measured rate exceeds the prediction's interval",
			gen:  []float64{0.9},
			imp:  append(scores(40, 0.25), scores(960, 0.05)...),
			fars: []float64{1e-2},
			want: []want{{far: 1e-2, impostor: 1000, accepted: 40, genuine: 1, genAccept: 1, checkable: true, verdict: Exceeds}},
		},
		{
			// None of 3000 accepted where 30 are predicted: the interval
			// [0, 0.0012] lies below 0.01.
			name: "measured rate below the prediction",
			gen:  []float64{0.9},
			imp:  scores(3000, 0.05),
			fars: []float64{1e-2},
			want: []want{{far: 1e-2, impostor: 3000, accepted: 0, genuine: 1, genAccept: 1, checkable: true, verdict: Below}},
		},
		{
			// 1000 pairs cannot check 1e-4, but 5 acceptances where 0.1
			// is expected show the (extrapolated) point is exceeded.
			name: "too few pairs yet exceeded at an extrapolated point",
			gen:  []float64{0.9, 0.3},
			imp:  append(scores(5, 0.45), scores(995, 0.05)...),
			fars: []float64{1e-4},
			want: []want{{far: 1e-4, impostor: 1000, accepted: 5, genuine: 2, genAccept: 1, checkable: false, extrapol: true, verdict: Exceeds}},
		},
		{
			// A score equal to the threshold is accepted; NaN never is.
			name: "at the threshold accepted, NaN not",
			gen:  []float64{at2, math.NaN()},
			imp:  append([]float64{at2, math.NaN()}, scores(298, 0.05)...),
			fars: []float64{1e-2},
			want: []want{{far: 1e-2, impostor: 300, accepted: 1, genuine: 2, genAccept: 1, checkable: true, verdict: Consistent}},
		},
		{
			name: "no impostor pairs",
			gen:  []float64{0.9},
			fars: []float64{1e-2},
			want: []want{{far: 1e-2, impostor: 0, accepted: 0, genuine: 1, genAccept: 1, checkable: false, verdict: TooFew}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckFAR(pairsOf(tt.gen, tt.imp), tb, tt.fars)
			require.Len(t, got, len(tt.want))
			for i, w := range tt.want {
				c := got[i]
				assert.Equal(t, w.far, c.FAR)
				assert.InDelta(t, -math.Log10(w.far)/10, c.Cosine, 1e-9, "threshold of FAR %g", w.far)
				assert.InEpsilon(t, w.far, c.PredictedFAR, 1e-6)
				assert.Equal(t, w.impostor, c.Impostor)
				assert.Equal(t, w.accepted, c.Accepted)
				assert.Equal(t, w.genuine, c.Genuine)
				assert.Equal(t, w.genAccept, c.GenuineAccepted)
				assert.InDelta(t, rate(w.genAccept, w.genuine), c.TAR, 1e-12)
				assert.InDelta(t, rate(w.accepted, w.impostor), c.MeasuredFAR, 1e-12)
				assert.LessOrEqual(t, c.Low, c.MeasuredFAR)
				assert.GreaterOrEqual(t, c.High, c.MeasuredFAR)
				assert.Equal(t, w.checkable, c.Checkable)
				assert.Equal(t, w.extrapol, c.Extrapolated)
				assert.Equal(t, w.verdict, c.Verdict, c.Note)
				assert.NotEmpty(t, c.Note)
			}
		})
	}
}
