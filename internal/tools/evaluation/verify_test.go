package evaluation

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pairsOf(gen, imp []float64) []Pair {
	var ps []Pair
	for _, s := range gen {
		ps = append(ps, Pair{Score: s, Same: true})
	}
	for _, s := range imp {
		ps = append(ps, Pair{Score: s})
	}
	return ps
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name         string
		gen, imp     []float64
		fars         []float64
		accuracy     float64
		threshold    float64
		auc          float64
		eer          float64
		eerThreshold float64
		tar, thrAt   map[float64]float64
	}{
		{
			name: "perfect separation",
			gen:  []float64{7, 8, 9}, imp: []float64{1, 2, 3},
			fars:     []float64{1.0 / 3, 0.1},
			accuracy: 1, threshold: 5, auc: 1, eer: 0, eerThreshold: 7,
			// FAR 1/3 allows one of the 3 impostors: reject 1 and 2.
			tar:   map[float64]float64{1.0 / 3: 1},
			thrAt: map[float64]float64{1.0 / 3: 2.5},
		},
		{
			name: "fully overlapping",
			gen:  []float64{2, 5, 8}, imp: []float64{2, 5, 8},
			fars:     []float64{1},
			accuracy: 0.5, threshold: 2, auc: 0.5, eer: 0.5, eerThreshold: 6.5,
			tar:   map[float64]float64{1: 1},
			thrAt: map[float64]float64{1: 2},
		},
		{
			name: "all scores tied",
			gen:  []float64{5, 5}, imp: []float64{5, 5, 5},
			accuracy: 0.6, threshold: math.Nextafter(5, 6), auc: 0.5, eer: 0.5, eerThreshold: 5 + 0.5*(math.Nextafter(5, 6)-5),
		},
		{
			// AUC: 9 beats both impostors (2), each 5 ties 5 (2 * 1/2) and
			// beats 1 (2): 5/6. EER: between thresholds 5 (FAR 1/2, FRR 0)
			// and 9 (FAR 0, FRR 2/3), a = (1/2)/(1/2+2/3) = 3/7.
			name: "ties",
			gen:  []float64{9, 5, 5}, imp: []float64{5, 1},
			fars:     []float64{0.5, 0.25},
			accuracy: 0.8, threshold: 3, auc: 5.0 / 6, eer: 2.0 / 7, eerThreshold: 5 + 4*3.0/7,
			tar:   map[float64]float64{0.5: 1},
			thrAt: map[float64]float64{0.5: 3},
		},
		{
			// FAR 1/4 allows one impostor, but the top two tie at 6 so both
			// must be rejected: threshold between 6 and the genuine 7.
			// AUC: 5 beats 2 impostors, 6 beats 2 and ties 2, 7 and 9 beat
			// all 4: (2 + 3 + 4 + 4) / 16. EER: between thresholds 6 (FAR
			// 1/2, FRR 1/4) and 7 (FAR 0, FRR 1/2), a = (1/4)/(1/4+1/2).
			name: "TAR at FAR with tied impostors",
			gen:  []float64{5, 6, 7, 9}, imp: []float64{1, 2, 6, 6},
			fars:     []float64{0.25, 0.5, 0.75, 0.2, 0, -1, 2, math.NaN()},
			accuracy: 0.75, threshold: 3.5, auc: 13.0 / 16,
			eer: 1.0 / 3, eerThreshold: 6 + 1.0/3,
			tar:   map[float64]float64{0.25: 0.5, 0.5: 1, 0.75: 1},
			thrAt: map[float64]float64{0.25: 6.5, 0.5: 3.5, 0.75: 1.5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Verify(pairsOf(tt.gen, tt.imp), tt.fars)
			assert.Equal(t, len(tt.gen), r.Genuine)
			assert.Equal(t, len(tt.imp), r.Impostor)
			assert.InDelta(t, tt.accuracy, r.Accuracy, 1e-12, "accuracy")
			assert.InDelta(t, tt.threshold, r.Threshold, 1e-12, "threshold")
			assert.InDelta(t, tt.auc, r.AUC, 1e-12, "AUC")
			assert.InDelta(t, tt.eer, r.EER, 1e-12, "EER")
			assert.InDelta(t, tt.eerThreshold, r.EERThreshold, 1e-12, "EER threshold")
			assert.Equal(t, tt.tar, r.TARAtFAR, "TAR at FAR")
			assert.Equal(t, tt.thrAt, r.ThresholdAtFAR, "threshold at FAR")
			assert.Nil(t, r.FoldAccuracy)
		})
	}
}

func TestVerifyDegenerate(t *testing.T) {
	r := Verify(nil, []float64{0.1})
	assert.Equal(t, VerifyReport{}, r)

	r = Verify(pairsOf([]float64{1, 2}, nil), []float64{0.1})
	assert.Equal(t, 2, r.Genuine)
	assert.Equal(t, 1.0, r.Accuracy)
	assert.Zero(t, r.AUC)
	assert.Zero(t, r.EER)
	assert.Nil(t, r.TARAtFAR)

	r = Verify(pairsOf(nil, []float64{1, 2}), nil)
	assert.Equal(t, 1.0, r.Accuracy)
	assert.Equal(t, math.Nextafter(2, 3), r.Threshold)

	// NaN scores count as the lowest: a genuine NaN is a rejection.
	r = Verify(pairsOf([]float64{math.NaN(), 9}, []float64{1}), nil)
	assert.InDelta(t, 2.0/3, r.Accuracy, 1e-12)
	assert.InDelta(t, 0.5, r.AUC, 1e-12)
}

// foldPairs: folds 1 and 2 separate at any threshold in (2, 6]; fold 3 has
// lower genuine scores. The in-sample threshold 2.5 separates everything,
// but held out, fold 3 gets the threshold 4 learnt on folds 1 and 2.
func foldPairs() []Pair {
	var ps []Pair
	add := func(fold int, gen, imp []float64) {
		for _, p := range pairsOf(gen, imp) {
			p.Fold = fold
			ps = append(ps, p)
		}
	}
	add(1, []float64{6, 7}, []float64{1, 2})
	add(2, []float64{7, 6}, []float64{2, 1})
	add(3, []float64{3, 4}, []float64{0, 1})
	return ps
}

func TestFoldAccuracy(t *testing.T) {
	r := Verify(foldPairs(), nil)
	assert.Equal(t, 1.0, r.Accuracy)
	assert.Equal(t, 2.5, r.Threshold)
	require.NotNil(t, r.FoldAccuracy)
	fa := r.FoldAccuracy
	assert.Equal(t, []FoldResult{
		{Fold: 1, Pairs: 4, Threshold: 2.5, Accuracy: 1},
		{Fold: 2, Pairs: 4, Threshold: 2.5, Accuracy: 1},
		{Fold: 3, Pairs: 4, Threshold: 4, Accuracy: 0.75},
	}, fa.Folds)
	assert.InDelta(t, 2.75/3, fa.Mean, 1e-12)
	assert.InDelta(t, math.Sqrt(3)/12, fa.Std, 1e-12) // sample std of 1, 1, 0.75

	// Pairs without a fold count in the overall metrics only.
	ps := append(foldPairs(), Pair{Score: 100, Same: false})
	r = Verify(ps, nil)
	assert.Equal(t, 7, r.Impostor)
	assert.Equal(t, fa, r.FoldAccuracy)

	// A single fold is no cross-validation.
	ps = foldPairs()
	for i := range ps {
		ps[i].Fold = min(ps[i].Fold, 1)
	}
	assert.Nil(t, Verify(ps, nil).FoldAccuracy)
}

// bruteAUC and bruteBest are the O(n²) definitions.
func bruteAUC(gen, imp []float64) float64 {
	var s float64
	for _, g := range gen {
		for _, i := range imp {
			switch {
			case g > i:
				s++
			case g == i:
				s += 0.5
			}
		}
	}
	return s / float64(len(gen)*len(imp))
}

func accuracyAt(gen, imp []float64, thr float64) float64 {
	c := 0
	for _, g := range gen {
		if g >= thr {
			c++
		}
	}
	for _, i := range imp {
		if i < thr {
			c++
		}
	}
	return float64(c) / float64(len(gen)+len(imp))
}

func TestVerifyMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		ng, ni := 1+r.IntN(30), 1+r.IntN(60)
		gen, imp := make([]float64, ng), make([]float64, ni)
		for i := range gen {
			gen[i] = float64(r.IntN(20) + 3) // coarse: many ties
		}
		for i := range imp {
			imp[i] = float64(r.IntN(20))
		}
		rep := Verify(pairsOf(gen, imp), []float64{0.1, 0.05})
		require.InDelta(t, bruteAUC(gen, imp), rep.AUC, 1e-12, "trial %d", trial)

		best := 0.0
		for thr := -1.0; thr <= 25; thr += 0.5 {
			best = max(best, accuracyAt(gen, imp, thr))
		}
		require.InDelta(t, best, rep.Accuracy, 1e-12, "trial %d", trial)
		require.InDelta(t, rep.Accuracy, accuracyAt(gen, imp, rep.Threshold), 1e-12, "trial %d", trial)

		for far, thr := range rep.ThresholdAtFAR {
			assert.LessOrEqual(t, 1-accuracyAt(nil, imp, thr), far+1e-12, "FAR at threshold")
			assert.InDelta(t, accuracyAt(gen, nil, thr), rep.TARAtFAR[far], 1e-12, "TAR at threshold")
			// Also accepting the highest rejected impostor would exceed the FAR.
			v := math.Inf(-1)
			for _, i := range imp {
				if i < thr {
					v = max(v, i)
				}
			}
			assert.Greater(t, 1-accuracyAt(nil, imp, v), far, "threshold not minimal")
		}
		require.GreaterOrEqual(t, rep.EER, 0.0)
		require.LessOrEqual(t, rep.EER, 1.0)
	}
}

func TestVerifyLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large sample")
	}
	// Genuine ~ N(2, 1), impostor ~ N(0, 1): AUC = Phi(2/sqrt 2) ≈ 0.9214,
	// EER = Phi(-1) ≈ 0.1587, TAR at FAR 1e-3 = Phi(2 - 3.0902) ≈ 0.1380.
	r := rand.New(rand.NewPCG(7, 8))
	ps := make([]Pair, 0, 2_000_000)
	for range 200_000 {
		ps = append(ps, Pair{Score: 2 + r.NormFloat64(), Same: true})
	}
	for range 1_800_000 {
		ps = append(ps, Pair{Score: r.NormFloat64()})
	}
	rep := Verify(ps, []float64{1e-3, 1e-6, 1e-7})
	phi := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	assert.InDelta(t, phi(math.Sqrt2), rep.AUC, 2e-3)
	assert.InDelta(t, phi(-1), rep.EER, 2e-3)
	assert.InDelta(t, 1.0, rep.EERThreshold, 1e-2)
	assert.InDelta(t, phi(2-3.0902), rep.TARAtFAR[1e-3], 5e-3)
	assert.InDelta(t, 3.0902, rep.ThresholdAtFAR[1e-3], 3e-2)
	assert.Contains(t, rep.TARAtFAR, 1e-6)
	assert.NotContains(t, rep.TARAtFAR, 1e-7) // 1.8e6 impostors cannot resolve 1e-7
}

func BenchmarkVerify(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	ps := make([]Pair, 1_000_000)
	for i := range ps {
		ps[i] = Pair{Score: r.NormFloat64(), Same: i%10 == 0}
		if ps[i].Same {
			ps[i].Score += 2
		}
	}
	for b.Loop() {
		Verify(ps, []float64{1e-3, 1e-4, 1e-5})
	}
}
