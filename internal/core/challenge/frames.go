package challenge

import (
	"math"
	"sort"
)

// bestFrame picks the frame for a face image among those with exactly one
// face: neutral first, then highest quality, then closest to frontal, then
// earliest.
func bestFrame(obs []Observation, c []cues, cfg Config) int {
	best := -1
	var bn bool
	var bq int
	var ba float64
	for i := range obs {
		if obs[i].Faces != 1 {
			continue
		}
		n, q, a := c[i].neutral(cfg), obs[i].Quality, c[i].offAxis(cfg)
		better := best < 0 ||
			(n && !bn) ||
			(n == bn && (q > bq || (q == bq && a < ba)))
		if better {
			best, bn, bq, ba = i, n, q, a
		}
	}
	return best
}

// minCosine is the identity measure: the lowest cosine to the best frame's
// embedding held by two consecutive comparable face frames (the higher of
// each such pair's two), or the one comparable frame's cosine when there is
// only one; 1 when none. Isolated low frames (below Config.SameCosine) are
// forgiven only while they are few, at most one in ten comparable frames
// (at least one): beyond that the lowest cosine of all is the measure, so
// another face shown on every other frame is a changed face. Comparable: a
// face frame other than the best, not near profile (cues.profile), whose
// embedding can be compared.
func minCosine(obs []Observation, c []cues, best int, cfg Config) float64 {
	lowest := 1.0
	if best < 0 {
		return lowest
	}
	ref := obs[best].Embedding
	var cos []float64
	low := 0
	for i := range obs {
		if i == best || !c[i].face || c[i].profile(cfg) {
			continue
		}
		if v, ok := cosine(ref, obs[i].Embedding); ok {
			cos = append(cos, v)
			if v < cfg.SameCosine {
				low++
			}
		}
	}
	if len(cos) == 1 || low > max(1, len(cos)/10) {
		for _, v := range cos {
			lowest = math.Min(lowest, v)
		}
		return lowest
	}
	for i := 1; i < len(cos); i++ {
		lowest = math.Min(lowest, math.Max(cos[i-1], cos[i]))
	}
	return lowest
}

// cosine is the cosine of a and b; ok is false when they are empty, of
// different lengths, zero or not finite.
func cosine(a, b []float32) (float64, bool) {
	if len(a) == 0 || len(a) != len(b) {
		return 0, false
	}
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	cos := ab / math.Sqrt(aa*bb)
	if math.IsNaN(cos) || math.IsInf(cos, 0) {
		return 0, false
	}
	return cos, true
}

// liveMedian is the median of the face frames' passive scores, NaN
// excluded, with their number.
func liveMedian(obs []Observation, c []cues) (float64, int) {
	var v []float64
	for i := range obs {
		if c[i].face && !math.IsNaN(obs[i].Live) {
			v = append(v, obs[i].Live)
		}
	}
	if len(v) == 0 {
		return math.NaN(), 0
	}
	sort.Float64s(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m], len(v)
	}
	// Halves first: no overflow; -Inf and +Inf in the middle give NaN, and
	// their median is taken as 0.
	mid := v[m-1]/2 + v[m]/2
	if math.IsNaN(mid) {
		mid = 0
	}
	return mid, len(v)
}
