package evaluation

import (
	"fmt"
	"math"
	"strconv"

	"github.com/facelambda/facelambda/internal/core/calibration"
)

// WorkingFARs are the working points of the calibration table that `eval
// verify` reports TAR at and checks against the pairs it is given.
var WorkingFARs = []float64{1e-2, 1e-3, 1e-4, 1e-5, 1e-6}

// IntervalMethod names the confidence interval of [FARCheck].
const IntervalMethod = "Clopper-Pearson (exact binomial), 95%, two-sided"

// minExpected is the number of impostor acceptances a working point must
// predict on the pairs for them to check it: fewer than 3/FAR impostor
// pairs are too few.
const minExpected = 3

// Verdict says how a measured impostor rate compares with the FAR the
// calibration table predicts.
type Verdict string

// Verdicts of [FARCheck].
const (
	// Consistent: the prediction lies within the measured rate's interval.
	Consistent Verdict = "consistent"
	// Exceeds: the whole interval lies above the prediction; the table
	// understates the FAR on these pairs.
	Exceeds Verdict = "exceeds prediction"
	// Below: the whole interval lies below the prediction; the table is
	// conservative on these pairs.
	Below Verdict = "below prediction"
	// TooFew: fewer than 3/FAR impostor pairs and an interval that
	// contains the prediction: the pairs cannot check the point.
	TooFew Verdict = "too few pairs"
)

// FARCheck compares, at one working point of a calibration table, the FAR
// the table predicts with the rate at which the given impostor pairs score
// at or above the table's cosine threshold.
type FARCheck struct {
	FAR          float64 `json:"far"`           // the working point
	Cosine       float64 `json:"cosine"`        // the table's threshold for it
	PredictedFAR float64 `json:"predicted_far"` // the table's FAR at Cosine
	// Extrapolated: the threshold lies beyond the impostor tail the table
	// measured, where its FAR is extrapolated.
	Extrapolated bool `json:"extrapolated,omitempty"`

	Impostor    int     `json:"impostor_pairs"`
	Accepted    int     `json:"impostor_accepted"` // impostors scoring >= Cosine
	MeasuredFAR float64 `json:"measured_far"`      // Accepted / Impostor
	// Low and High bound MeasuredFAR's 95% interval ([IntervalMethod]).
	Low  float64 `json:"measured_far_low"`
	High float64 `json:"measured_far_high"`

	Genuine         int     `json:"genuine_pairs"`
	GenuineAccepted int     `json:"genuine_accepted"`    // genuine pairs scoring >= Cosine
	TAR             float64 `json:"genuine_accept_rate"` // GenuineAccepted / Genuine

	// Checkable: at least 3/FAR impostor pairs, so that the point predicts
	// at least 3 acceptances on them.
	Checkable bool    `json:"checkable"`
	Verdict   Verdict `json:"verdict"`
	Note      string  `json:"note"` // the verdict in a sentence
}

// CheckFAR checks table at each of fars against pairs: per working point
// the table's cosine threshold (Table.CosineAt), the FAR it predicts
// there, the impostor and genuine pairs at or above it, and the measured
// impostor rate with its 95% interval. A NaN score is never accepted.
func CheckFAR(pairs []Pair, table *calibration.Table, fars []float64) []FARCheck {
	measuredTail := math.Inf(1) // cosine beyond which the table extrapolates
	for _, p := range table.Points {
		if p.Extrapolated {
			break
		}
		measuredTail = p.Cosine
	}
	out := make([]FARCheck, 0, len(fars))
	for _, far := range fars {
		c := FARCheck{FAR: far, Cosine: table.CosineAt(far)}
		c.PredictedFAR = table.FAR(c.Cosine)
		c.Extrapolated = c.Cosine > measuredTail
		for _, p := range pairs {
			in := score(p.Score) >= c.Cosine
			switch {
			case p.Same:
				c.Genuine++
				if in {
					c.GenuineAccepted++
				}
			default:
				c.Impostor++
				if in {
					c.Accepted++
				}
			}
		}
		c.MeasuredFAR = rate(c.Accepted, c.Impostor)
		c.TAR = rate(c.GenuineAccepted, c.Genuine)
		c.Low, c.High = clopperPearson(c.Accepted, c.Impostor, 0.05)
		c.Checkable = float64(c.Impostor)*far >= minExpected*(1-1e-9)
		c.Verdict, c.Note = judge(c)
		out = append(out, c)
	}
	return out
}

func rate(k, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// judge returns the verdict of c and a sentence saying it. A point with too
// few pairs can still be found exceeded: many acceptances where the table
// predicts almost none are evidence.
func judge(c FARCheck) (Verdict, string) {
	pred := strconv.FormatFloat(c.PredictedFAR, 'g', 3, 64)
	interval := fmt.Sprintf("[%.3g, %.3g]", c.Low, c.High)
	switch {
	case c.Low > c.PredictedFAR:
		return Exceeds, fmt.Sprintf("%d of %d impostor pairs accepted: the 95%% interval %s lies above the predicted FAR %s; the table understates the FAR on these pairs",
			c.Accepted, c.Impostor, interval, pred)
	case !c.Checkable:
		need := int(math.Ceil(minExpected/c.FAR - 1e-9))
		return TooFew, fmt.Sprintf("%d impostor pairs are too few to check FAR %g: at least %d (3/FAR) are needed", c.Impostor, c.FAR, need)
	case c.High < c.PredictedFAR:
		return Below, fmt.Sprintf("%d of %d impostor pairs accepted: the 95%% interval %s lies below the predicted FAR %s; the table is conservative on these pairs",
			c.Accepted, c.Impostor, interval, pred)
	}
	return Consistent, fmt.Sprintf("%d of %d impostor pairs accepted: the predicted FAR %s lies within the 95%% interval %s",
		c.Accepted, c.Impostor, pred, interval)
}

// clopperPearson returns the exact two-sided 1-alpha confidence interval of
// a binomial proportion with k successes in n trials: the lower bound is
// the p at which P(X >= k) = alpha/2, the upper the p at which
// P(X <= k) = alpha/2 (0 and 1 when k = 0 and k = n). With n = 0 it is
// [0, 1].
func clopperPearson(k, n int, alpha float64) (lo, hi float64) {
	lo, hi = 0, 1
	if n <= 0 {
		return lo, hi
	}
	if k > 0 {
		// P(X >= k) = 1 - P(X <= k-1) rises with p.
		lo = bisectRate(func(p float64) bool { return 1-binomialCDF(k-1, n, p) < alpha/2 })
	}
	if k < n {
		// P(X <= k) falls as p rises.
		hi = bisectRate(func(p float64) bool { return binomialCDF(k, n, p) > alpha/2 })
	}
	return lo, hi
}

// bisectRate returns the p in [0, 1] where below(p) turns from true to
// false, below being monotone.
func bisectRate(below func(p float64) bool) float64 {
	lo, hi := 0.0, 1.0
	for range 80 {
		mid := (lo + hi) / 2
		if below(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// binomialCDF returns P(X <= k) for X ~ Binomial(n, p). It sums the
// probabilities from k downwards in log space, stopping once the terms
// left cannot change the sum.
func binomialCDF(k, n int, p float64) float64 {
	switch {
	case k < 0:
		return 0
	case k >= n || p <= 0:
		return 1
	case p >= 1:
		return 0
	}
	lgN, _ := math.Lgamma(float64(n) + 1)
	lgK, _ := math.Lgamma(float64(k) + 1)
	lgNK, _ := math.Lgamma(float64(n-k) + 1)
	logOdds := math.Log1p(-p) - math.Log(p) // log((1-p)/p)
	l := lgN - lgK - lgNK + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p)
	sum := l // log of the sum so far
	for i := k; i > 0; i-- {
		// P(i-1) / P(i) = i/(n-i+1) * (1-p)/p
		r := math.Log(float64(i)) - math.Log(float64(n-i+1)) + logOdds
		l += r
		sum = logAdd(sum, l)
		// Below the mode the ratio r < 0 only falls as i does: the terms
		// left sum to less than exp(l) / (1 - exp(r)).
		if r < 0 && l-math.Log1p(-math.Exp(r)) < sum-40 {
			break
		}
	}
	return min(math.Exp(sum), 1)
}

// logAdd returns log(exp(a) + exp(b)).
func logAdd(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}
