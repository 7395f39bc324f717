package liveness

import (
	"math"
	"slices"
	"sort"
)

// Presentation-attack detection metrics (ISO/IEC 30107-3).
//
// A presentation is accepted as bona fide when its score is >= the
// threshold. APCER is the fraction of attack presentations accepted, BPCER
// the fraction of bona fide presentations rejected, ACER their mean. A
// sample whose face could not be found (Failed) has no score: it is counted
// as rejected at every threshold, that is as an error when it is bona fide
// (a genuine user turned away) and as a correct rejection when it is an
// attack (the service answers "no face", not "live").

// Sample is one labelled presentation.
type Sample struct {
	Score  float64 // fused live score; ignored when Failed
	Attack bool
	Type   string // attack type ("print", "replay_ipad", ...); "none" for bona fide
	Group  string // data source
	Failed bool   // no face found
}

func (s Sample) value() float64 {
	if s.Failed || math.IsNaN(s.Score) {
		return math.Inf(-1)
	}
	return s.Score
}

// Rates are the error rates at one threshold.
type Rates struct {
	Threshold float64 `json:"threshold"`
	// APCER is the pooled rate: attacks accepted over all attacks.
	APCER float64 `json:"apcer"`
	// APCERMax is the ISO/IEC 30107-3 APCER: the highest rate over attack
	// types.
	APCERMax float64 `json:"apcer_max"`
	// APCERByType is the rate of each attack type.
	APCERByType map[string]float64 `json:"apcer_by_attack_type"`
	BPCER       float64            `json:"bpcer"`
	// ACER is (APCER + BPCER) / 2, with the pooled APCER.
	ACER float64 `json:"acer"`
	// ACERMax is (APCERMax + BPCER) / 2, the ACER of ISO/IEC 30107-3.
	ACERMax float64 `json:"acer_max"`
}

// At computes the error rates of samples at threshold thr.
func At(samples []Sample, thr float64) Rates {
	r := Rates{Threshold: thr, APCERByType: map[string]float64{}}
	var att, attAcc, bf, bfRej int
	nType, accType := map[string]int{}, map[string]int{}
	for _, s := range samples {
		acc := !s.Failed && s.value() >= thr
		if s.Attack {
			att++
			nType[s.Type]++
			if acc {
				attAcc++
				accType[s.Type]++
			}
		} else {
			bf++
			if !acc {
				bfRej++
			}
		}
	}
	r.APCER = ratio(attAcc, att)
	r.BPCER = ratio(bfRej, bf)
	for t, n := range nType {
		r.APCERByType[t] = ratio(accType[t], n)
		r.APCERMax = math.Max(r.APCERMax, r.APCERByType[t])
	}
	r.ACER = (r.APCER + r.BPCER) / 2
	r.ACERMax = (r.APCERMax + r.BPCER) / 2
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// split returns the ascending bona fide and attack values.
func split(samples []Sample) (bf, att []float64) {
	for _, s := range samples {
		if s.Attack {
			att = append(att, s.value())
		} else {
			bf = append(bf, s.value())
		}
	}
	slices.Sort(bf)
	slices.Sort(att)
	return bf, att
}

// AUC is the probability that a random bona fide sample scores above a
// random attack (ties count one half; failures score lowest). It is 0 when
// a class is empty.
func AUC(samples []Sample) float64 {
	bf, att := split(samples)
	if len(bf) == 0 || len(att) == 0 {
		return 0
	}
	var twice float64
	for _, b := range bf {
		lo := sort.SearchFloat64s(att, b) // att[:lo] < b
		hi := lo
		for hi < len(att) && att[hi] == b {
			hi++
		}
		twice += 2*float64(lo) + float64(hi-lo)
	}
	return twice / (2 * float64(len(bf)) * float64(len(att)))
}

// ThresholdAtAPCER returns the lowest threshold at which the pooled APCER
// of samples is at most apcer: it accepts floor(apcer * attacks) attacks
// at most (ties with a rejected attack are rejected too) and lies midway
// between the highest rejected attack and the next higher score. ok is
// false when there are no attacks.
func ThresholdAtAPCER(samples []Sample, apcer float64) (thr float64, ok bool) {
	var all, att []float64
	for _, s := range samples {
		all = append(all, s.value())
		if s.Attack {
			att = append(att, s.value())
		}
	}
	if len(att) == 0 {
		return 0, false
	}
	slices.Sort(att)
	slices.Sort(all)
	k := int(math.Floor(apcer*float64(len(att)) + 1e-9)) // attacks allowed
	if k >= len(att) {
		return all[0], true // accept everything
	}
	return thresholdAbove(all, att[len(att)-k-1]), true // the highest attack to reject
}

// BPCERAtAPCER returns the BPCER at ThresholdAtAPCER(samples, apcer).
func BPCERAtAPCER(samples []Sample, apcer float64) float64 {
	thr, ok := ThresholdAtAPCER(samples, apcer)
	if !ok {
		return 0
	}
	return At(samples, thr).BPCER
}

// Report is the evaluation of one set of samples at one threshold.
type Report struct {
	BonaFide int `json:"bona_fide"`
	Attacks  int `json:"attacks"`
	// FailedBonaFide and FailedAttacks count the samples with no face
	// found (bona fide ones count as rejected, see the package notes).
	FailedBonaFide int     `json:"failed_bona_fide"`
	FailedAttacks  int     `json:"failed_attacks"`
	AUC            float64 `json:"auc"`
	Rates
	BPCERAtAPCER1 float64 `json:"bpcer_at_apcer_1"`
	BPCERAtAPCER5 float64 `json:"bpcer_at_apcer_5"`
	// ThresholdAtAPCER1 and 5 are this sample's own operating points
	// (in-sample, optimistic for the group).
	ThresholdAtAPCER1 float64 `json:"threshold_at_apcer_1"`
	ThresholdAtAPCER5 float64 `json:"threshold_at_apcer_5"`
}

// Evaluate reports samples at threshold thr.
func Evaluate(samples []Sample, thr float64) Report {
	r := Report{Rates: At(samples, thr), AUC: AUC(samples)}
	for _, s := range samples {
		if s.Attack {
			r.Attacks++
			if s.Failed {
				r.FailedAttacks++
			}
		} else {
			r.BonaFide++
			if s.Failed {
				r.FailedBonaFide++
			}
		}
	}
	if t, ok := ThresholdAtAPCER(samples, 0.01); ok {
		r.ThresholdAtAPCER1, r.BPCERAtAPCER1 = t, At(samples, t).BPCER
	}
	if t, ok := ThresholdAtAPCER(samples, 0.05); ok {
		r.ThresholdAtAPCER5, r.BPCERAtAPCER5 = t, At(samples, t).BPCER
	}
	return r
}

// BestACER returns the lowest pooled ACER ((APCER + BPCER) / 2) over all
// thresholds and its threshold (an in-sample figure, for comparing
// methods, not an operating point).
func BestACER(samples []Sample) (acer, thr float64) {
	var vals []float64
	for _, s := range samples {
		vals = append(vals, s.value())
	}
	if len(vals) == 0 {
		return 0, 0
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	acer = math.Inf(1)
	cands := append(vals, math.Nextafter(vals[len(vals)-1], math.Inf(1)))
	for _, t := range cands {
		if a := At(samples, t).ACER; a < acer {
			acer, thr = a, t
		}
	}
	return acer, thr
}

// ThresholdAtBalancedAPCER is ThresholdAtAPCER with every (group, attack
// type) cell of the attacks weighted equally: the lowest threshold at
// which the mean over the cells of their APCER is at most apcer, so that
// a large source of easy attacks cannot buy acceptance of a small source
// of hard ones. ok is false when there are no attacks.
func ThresholdAtBalancedAPCER(samples []Sample, apcer float64) (thr float64, ok bool) {
	type att struct {
		v, w float64
	}
	cells := map[[2]string]int{}
	for _, s := range samples {
		if s.Attack {
			cells[[2]string{s.Group, s.Type}]++
		}
	}
	if len(cells) == 0 {
		return 0, false
	}
	var atts []att
	var all []float64
	for _, s := range samples {
		all = append(all, s.value())
		if s.Attack {
			atts = append(atts, att{s.value(), 1 / float64(len(cells)*cells[[2]string{s.Group, s.Type}])})
		}
	}
	slices.Sort(all)
	sort.SliceStable(atts, func(i, j int) bool { return atts[i].v > atts[j].v })
	// Accept attacks from the top while their weight stays within apcer;
	// the first that does not fit is the highest to reject.
	var acc float64
	k := 0
	for k < len(atts) && acc+atts[k].w <= apcer+1e-12 {
		acc += atts[k].w
		k++
	}
	if k == len(atts) {
		return all[0], true
	}
	return thresholdAbove(all, atts[k].v), true
}

// thresholdAbove returns the threshold rejecting the score v: midway
// between v and the next higher score of the sorted scores all (that
// score itself when the midpoint rounds onto v or v is -Inf), or just
// above v when no score is higher.
func thresholdAbove(all []float64, v float64) float64 {
	i, _ := slices.BinarySearch(all, math.Nextafter(v, math.Inf(1)))
	if i == len(all) {
		return math.Nextafter(v, math.Inf(1))
	}
	next := all[i]
	if math.IsInf(v, -1) {
		return next
	}
	if m := v/2 + next/2; m > v && m <= next {
		return m
	}
	return next
}
