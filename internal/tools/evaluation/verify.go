// Package evaluation holds the metrics and protocols of the facelambda
// eval, calibrate and bench commands; the CLI parses flags, calls it and
// prints. The metrics (this file, detect.go) only do arithmetic on scores
// and boxes: face verification accuracy, ROC-derived rates, face detection
// matching. The protocols run the service's pipeline on labelled data:
// verification and detection on datasets, 1:N identification (identify.go)
// and its synthetic search benchmark, passive liveness evaluation,
// calibration and cross-validation (liveness*.go), the active liveness
// challenge and planar-motion sequences (active.go, planarity.go, photos.go),
// multi-vector template fusion and the impostor scores of the calibration
// table.
//
// # Verification conventions
//
// A pair is accepted as "same person" when its score is >= the threshold,
// so higher scores must mean more similar. FAR (false-acceptance rate) is
// the fraction of impostor pairs accepted, FRR (false-rejection rate) the
// fraction of genuine pairs rejected and TAR = 1 - FRR. Thresholds chosen
// by this package lie midway between two consecutive distinct scores, so
// that they separate the sample the same way for scores slightly off it.
// A NaN score counts as the lowest possible score.
package evaluation

import (
	"math"
	"slices"
)

// Pair is one scored comparison.
type Pair struct {
	Score float64 // similarity; higher means more alike
	Same  bool    // true for a genuine (same person) pair
	Fold  int     // cross-validation fold, 1..k; 0 when not in a fold
}

// VerifyReport holds the verification metrics of a set of pairs. Metrics
// that need both classes (AUC, EER, TARAtFAR) are zero or empty when
// Genuine or Impostor is zero.
type VerifyReport struct {
	Genuine  int `json:"genuine"`  // number of genuine pairs
	Impostor int `json:"impostor"` // number of impostor pairs

	// Accuracy is the best fraction of pairs classified correctly by a
	// single threshold chosen on all pairs (an optimistic, in-sample
	// figure), and Threshold that threshold.
	Accuracy  float64 `json:"accuracy"`
	Threshold float64 `json:"threshold"`

	// FoldAccuracy is the cross-validated accuracy, nil unless pairs carry
	// at least two distinct folds.
	FoldAccuracy *FoldAccuracy `json:"fold_accuracy,omitempty"`

	// AUC is the area under the ROC curve: the probability that a random
	// genuine pair scores above a random impostor pair, ties counting 1/2.
	AUC float64 `json:"auc"`

	// EER is the equal error rate, where FAR = FRR, interpolated linearly
	// between the two thresholds around the crossing, and EERThreshold the
	// threshold interpolated likewise.
	EER          float64 `json:"eer"`
	EERThreshold float64 `json:"eer_threshold"`

	// TARAtFAR maps each requested FAR the sample resolves to the TAR at the
	// lowest threshold whose FAR does not exceed it; ThresholdAtFAR maps it
	// to that threshold. A FAR f is resolved, and included, only when
	// Impostor >= 1/f, that is when at least one impostor acceptance is
	// allowed; invalid FARs (outside (0, 1]) are left out too.
	TARAtFAR       map[float64]float64 `json:"tar_at_far,omitempty"`
	ThresholdAtFAR map[float64]float64 `json:"threshold_at_far,omitempty"`
}

// FoldAccuracy is the accuracy of the k-fold protocol of LFW: for each fold,
// the threshold that maximises accuracy on the pairs of all other folds is
// applied to the held-out fold. Pairs with Fold 0 take no part.
type FoldAccuracy struct {
	Mean  float64      `json:"mean"`
	Std   float64      `json:"std"` // sample standard deviation (n-1) over folds
	Folds []FoldResult `json:"folds"`
}

// FoldResult is the outcome for one held-out fold.
type FoldResult struct {
	Fold      int     `json:"fold"`
	Pairs     int     `json:"pairs"`     // pairs in the fold
	Threshold float64 `json:"threshold"` // chosen on the other folds
	Accuracy  float64 `json:"accuracy"`  // on this fold
}

// score maps NaN to -Inf so that sorting and comparisons treat it as the
// lowest score.
func score(s float64) float64 {
	if math.IsNaN(s) {
		return math.Inf(-1)
	}
	return s
}

// Verify computes verification metrics for pairs, with TAR reported at each
// of fars the sample resolves (see [VerifyReport]). It sorts the genuine and
// impostor scores once and is otherwise linear, so it suits 10^7 pairs;
// the fold protocol costs one extra pass per fold.
func Verify(pairs []Pair, fars []float64) VerifyReport {
	var gen, imp []float64
	nGen := 0
	for _, p := range pairs {
		if p.Same {
			nGen++
		}
	}
	gen = make([]float64, 0, nGen)
	imp = make([]float64, 0, len(pairs)-nGen)
	for _, p := range pairs {
		if p.Same {
			gen = append(gen, score(p.Score))
		} else {
			imp = append(imp, score(p.Score))
		}
	}
	slices.Sort(gen)
	slices.Sort(imp)

	r := VerifyReport{Genuine: len(gen), Impostor: len(imp)}
	if len(pairs) > 0 {
		thr, correct := bestThreshold(gen, imp)
		r.Threshold = thr
		r.Accuracy = float64(correct) / float64(len(pairs))
	}
	r.FoldAccuracy = foldAccuracy(pairs)
	if len(gen) == 0 || len(imp) == 0 {
		return r
	}
	r.AUC = auc(gen, imp)
	r.EER, r.EERThreshold = eer(gen, imp)
	for _, f := range fars {
		if !(f > 0 && f <= 1) || float64(len(imp))*f < 1-1e-9 {
			continue
		}
		if r.TARAtFAR == nil {
			r.TARAtFAR = make(map[float64]float64)
			r.ThresholdAtFAR = make(map[float64]float64)
		}
		r.TARAtFAR[f], r.ThresholdAtFAR[f] = tarAtFAR(gen, imp, f)
	}
	return r
}

// between returns a threshold t with a < t <= b, midway when possible.
func between(a, b float64) float64 {
	if m := a/2 + b/2; m > a && m <= b {
		return m
	}
	return b
}

// above returns the smallest threshold rejecting score v.
func above(v float64) float64 { return math.Nextafter(v, math.Inf(1)) }

// bestThreshold returns the threshold maximising the number of correct
// decisions (genuine >= t, impostor < t) on the ascending slices gen and
// imp, and that number. Among equally good thresholds it returns the
// lowest.
func bestThreshold(gen, imp []float64) (thr float64, correct int) {
	// Accept everything: all genuine pairs right.
	correct = len(gen)
	switch {
	case len(gen) > 0 && len(imp) > 0:
		thr = min(gen[0], imp[0])
	case len(gen) > 0:
		thr = gen[0]
	case len(imp) > 0:
		thr = imp[0]
	}
	i, j := 0, 0 // gen[:i] and imp[:j] are rejected
	for i < len(gen) || j < len(imp) {
		v := math.Inf(1)
		if i < len(gen) {
			v = gen[i]
		}
		if j < len(imp) && imp[j] < v {
			v = imp[j]
		}
		for i < len(gen) && gen[i] == v {
			i++
		}
		for j < len(imp) && imp[j] == v {
			j++
		}
		// Threshold just above v: everything <= v rejected.
		if c := (len(gen) - i) + j; c > correct {
			correct = c
			next := math.Inf(1)
			if i < len(gen) {
				next = gen[i]
			}
			if j < len(imp) && imp[j] < next {
				next = imp[j]
			}
			if math.IsInf(next, 1) {
				thr = above(v)
			} else {
				thr = between(v, next)
			}
		}
	}
	return thr, correct
}

// auc returns the Mann-Whitney estimate of the area under the ROC curve
// from ascending gen and imp.
func auc(gen, imp []float64) float64 {
	var twice uint64 // 2 * (pairs gen > imp) + (pairs gen == imp)
	lo, hi := 0, 0   // imp[:lo] < g, imp[:hi] <= g
	for _, g := range gen {
		for lo < len(imp) && imp[lo] < g {
			lo++
		}
		hi = max(hi, lo)
		for hi < len(imp) && imp[hi] <= g {
			hi++
		}
		twice += 2*uint64(lo) + uint64(hi-lo)
	}
	return float64(twice) / (2 * float64(len(gen)) * float64(len(imp)))
}

// eer returns the equal error rate and its threshold from ascending, non
// empty gen and imp. It sweeps the thresholds t = each distinct score (and
// one above the maximum), on which FAR(t) = #imp >= t / I falls from 1 to 0
// and FRR(t) = #gen < t / G rises from 0 to 1, and interpolates linearly
// where FAR - FRR changes sign.
func eer(gen, imp []float64) (rate, thr float64) {
	G, I := float64(len(gen)), float64(len(imp))
	prevT, prevFAR, prevFRR := math.Inf(-1), 1.0, 0.0
	i, j := 0, 0 // gen[:i], imp[:j] are below the current threshold
	for {
		var t float64
		switch {
		case i < len(gen) && j < len(imp):
			t = min(gen[i], imp[j])
		case i < len(gen):
			t = gen[i]
		case j < len(imp):
			t = imp[j]
		default:
			t = above(max(gen[len(gen)-1], imp[len(imp)-1]))
		}
		far, frr := (I-float64(j))/I, float64(i)/G
		if frr >= far {
			if math.IsInf(prevT, -1) { // crossing at the first threshold
				return (far + frr) / 2, t
			}
			d0, d1 := prevFAR-prevFRR, far-frr
			a := d0 / (d0 - d1)
			return prevFRR + a*(frr-prevFRR), prevT + a*(t-prevT)
		}
		prevT, prevFAR, prevFRR = t, far, frr
		for i < len(gen) && gen[i] == t {
			i++
		}
		for j < len(imp) && imp[j] == t {
			j++
		}
	}
}

// tarAtFAR returns the TAR at the lowest threshold accepting at most
// far*len(imp) impostors, and that threshold.
func tarAtFAR(gen, imp []float64, far float64) (tar, thr float64) {
	k := int(math.Floor(far*float64(len(imp)) + 1e-9)) // impostors allowed
	if k >= len(imp) {
		// Every impostor may be accepted: accept everything.
		return 1, min(gen[0], imp[0])
	}
	// Reject imp[len-k-1] and everything tied with or below it.
	v := imp[len(imp)-k-1]
	nextImp, _ := slices.BinarySearch(imp, above(v)) // first imp > v
	g, _ := slices.BinarySearch(gen, above(v))       // first gen > v
	next := math.Inf(1)
	if nextImp < len(imp) {
		next = imp[nextImp]
	}
	if g < len(gen) {
		next = min(next, gen[g])
	}
	if math.IsInf(next, 1) {
		thr = above(v)
	} else {
		thr = between(v, next)
	}
	return float64(len(gen)-g) / float64(len(gen)), thr
}

// foldAccuracy runs the k-fold protocol on the pairs with a fold, or
// returns nil when they carry fewer than two distinct folds.
func foldAccuracy(pairs []Pair) *FoldAccuracy {
	type item struct {
		score float64
		same  bool
		fold  int
	}
	var items []item
	var folds []int
	for _, p := range pairs {
		if p.Fold == 0 {
			continue
		}
		items = append(items, item{score(p.Score), p.Same, p.Fold})
		if !slices.Contains(folds, p.Fold) {
			folds = append(folds, p.Fold)
		}
	}
	if len(folds) < 2 {
		return nil
	}
	slices.Sort(folds)
	slices.SortFunc(items, func(a, b item) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return 0
	})

	fa := &FoldAccuracy{Folds: make([]FoldResult, 0, len(folds))}
	var gen, imp []float64
	for _, k := range folds {
		gen, imp = gen[:0], imp[:0]
		for _, it := range items {
			switch {
			case it.fold == k:
			case it.same:
				gen = append(gen, it.score)
			default:
				imp = append(imp, it.score)
			}
		}
		thr, _ := bestThreshold(gen, imp) // inputs stay sorted
		var n, correct int
		for _, it := range items {
			if it.fold != k {
				continue
			}
			n++
			if (it.score >= thr) == it.same {
				correct++
			}
		}
		fa.Folds = append(fa.Folds, FoldResult{Fold: k, Pairs: n, Threshold: thr, Accuracy: float64(correct) / float64(n)})
	}
	for _, f := range fa.Folds {
		fa.Mean += f.Accuracy
	}
	fa.Mean /= float64(len(fa.Folds))
	for _, f := range fa.Folds {
		fa.Std += (f.Accuracy - fa.Mean) * (f.Accuracy - fa.Mean)
	}
	fa.Std = math.Sqrt(fa.Std / float64(len(fa.Folds)-1))
	return fa
}
