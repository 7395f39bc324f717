package evaluation

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/facelambda/facelambda/internal/ml/liveness"
)

// Derived features: means of the readings, as the runtime fuses them.
const (
	FeatFR     = "fr"      // fr_liveness: box and square crops and their mirrors
	FeatMF     = "mf"      // MiniFASNet pair, no mirrors (the manifest's reading)
	FeatMFFlip = "mf_flip" // MiniFASNet pair and mirrors
	FeatMFV2F  = "mf_v2f"  // MiniFASNetV2 and mirror
	FeatMFV1F  = "mf_v1sef"
)

// derive adds the derived features to f.
func derive(f map[string]float64) {
	f[FeatFR] = (f[FeatFRBox] + f[FeatFRBoxM] + f[FeatFRSquare] + f[FeatFRSquareM]) / 4
	f[FeatMF] = (f[FeatMFV2] + f[FeatMFV1SE]) / 2
	f[FeatMFV2F] = (f[FeatMFV2] + f[FeatMFV2M]) / 2
	f[FeatMFV1F] = (f[FeatMFV1SE] + f[FeatMFV1SEM]) / 2
	f[FeatMFFlip] = (f[FeatMFV2F] + f[FeatMFV1F]) / 2
}

// PassiveFusion is one way of scoring a presentation from its features:
// fixed weights, or (Fixed nil) a logistic regression fitted on the
// calibration sources.
type PassiveFusion struct {
	Name  string    `json:"name"`
	Note  string    `json:"note"`
	Feats []string  `json:"features"`
	Fixed []float64 `json:"fixed_weights,omitempty"`
}

// Calibration rules: how a level's threshold is set from its target APCER.
const (
	// RulePooled: the lowest threshold whose APCER over all calibration
	// attacks is at most the target (every attack counts the same, so the
	// largest source decides).
	RulePooled = "pooled"
	// RuleBalanced: the same with every (source, attack type) cell of the
	// calibration data weighted equally.
	RuleBalanced = "balanced"
)

// ShippedFusion names the fusion the runtime ships.
const ShippedFusion = "lr models+contrast+chroma"

// PassiveFusions are the fusions `eval passive-loso` compares.
func PassiveFusions() []PassiveFusion {
	models := []string{FeatFR, FeatMFV2F, FeatMFV1F}
	fs := []PassiveFusion{
		{Name: "fr", Note: "fr_liveness, 2 crops + mirrors (shipped before)", Feats: []string{FeatFR}, Fixed: []float64{1}},
		{Name: "fr+mf 2:1", Note: "fixed weights, pair without mirrors", Feats: []string{FeatFR, FeatMF}, Fixed: []float64{2, 1}},
		{Name: "fr+mf 1:1", Note: "fixed weights, pair without mirrors", Feats: []string{FeatFR, FeatMF}, Fixed: []float64{1, 1}},
		{Name: "fr+mf(flip) 1:1", Note: "fixed weights, pair with mirrors", Feats: []string{FeatFR, FeatMFFlip}, Fixed: []float64{1, 1}},
		{Name: "fr+mf(flip) 1:2", Note: "fixed weights, pair with mirrors", Feats: []string{FeatFR, FeatMFFlip}, Fixed: []float64{1, 2}},
		{Name: "fr+mf(flip) 2:1", Note: "fixed weights, pair with mirrors", Feats: []string{FeatFR, FeatMFFlip}, Fixed: []float64{2, 1}},
		{Name: "mf(flip)", Note: "MiniFASNet pair with mirrors alone", Feats: []string{FeatMFFlip}, Fixed: []float64{1}},
		{Name: "lr fr+mf(flip)", Note: "logistic regression, fr and the pair with mirrors", Feats: []string{FeatFR, FeatMFFlip}},
		{Name: "lr fr+mf(flip)+detail", Note: "logistic regression, fr, the pair with mirrors, cue_detail", Feats: []string{FeatFR, FeatMFFlip, liveness.CueDetail}},
		{Name: "lr models", Note: "logistic regression on the three model readings (mirrors averaged)", Feats: models},
		{Name: "lr fr+mf4", Note: "logistic regression, fr and the four MiniFASNet readings", Feats: []string{FeatFR, FeatMFV2, FeatMFV2M, FeatMFV1SE, FeatMFV1SEM}},
	}
	fs = append(fs,
		PassiveFusion{Name: "lr fr+mf(flip)+contrast", Note: "fr, the pair with mirrors, cue_contrast", Feats: []string{FeatFR, FeatMFFlip, liveness.CueContrast}},
		PassiveFusion{Name: "lr fr+contrast", Note: "fr and cue_contrast", Feats: []string{FeatFR, liveness.CueContrast}},
		PassiveFusion{Name: "lr mf(flip)+contrast", Note: "the pair with mirrors and cue_contrast", Feats: []string{FeatMFFlip, liveness.CueContrast}},
		PassiveFusion{Name: "lr models+contrast+chroma", Note: "the three model readings, cue_contrast and cue_chroma", Feats: append(slices.Clone(models), liveness.CueContrast, liveness.CueChroma)},
		PassiveFusion{Name: "lr models+contrast+detail", Note: "the three model readings, cue_contrast and cue_detail", Feats: append(slices.Clone(models), liveness.CueContrast, liveness.CueDetail)},
	)
	for _, c := range liveness.CueNames {
		fs = append(fs, PassiveFusion{Name: "lr models+" + c, Note: "the three model readings and one cue", Feats: append(slices.Clone(models), c)})
	}
	fs = append(fs, PassiveFusion{Name: "lr models+cues", Note: "the three model readings and every cue", Feats: append(slices.Clone(models), liveness.CueNames...)})
	fs = append(fs, PassiveFusion{Name: "lr fr+cues", Note: "fr_liveness and every cue", Feats: append([]string{FeatFR}, liveness.CueNames...)})
	return fs
}

// LOSOConfig is what `eval passive-loso` runs.
type LOSOConfig struct {
	Level    liveness.Level
	Rules    []string
	Fusions  []PassiveFusion
	Lambda   float64 // L2 penalty of the fitted fusions
	Detailed string  // fusion whose levels are reported in full ("" the first)
}

// LOSOResult is the report of `eval passive-loso`.
type LOSOResult struct {
	Level   string         `json:"level"`
	Sources []SourceCounts `json:"sources"`
	Fusions []LOSOFusion   `json:"fusions"`
}

// SourceCounts counts a source's presentations.
type SourceCounts struct {
	Source   string         `json:"source"`
	BonaFide int            `json:"bona_fide"`
	Failed   int            `json:"bona_fide_without_face"`
	Attacks  map[string]int `json:"attacks"`
}

// LOSOFusion is one fusion under one calibration rule: per source, the
// rates at the level's threshold calibrated without it (held out) and
// with everything (in-sample), and pooled over the sources.
type LOSOFusion struct {
	PassiveFusion
	Rule     string      `json:"rule"`
	HeldOut  []SourceAt  `json:"held_out"`
	Pooled   SourceAt    `json:"held_out_pooled"`
	InSample []SourceAt  `json:"in_sample"`
	InPooled SourceAt    `json:"in_sample_pooled"`
	Model    logit       `json:"model"` // fitted on every source
	Levels   []LOSOLevel `json:"levels,omitempty"`
}

// LOSOLevel is the held-out pooled figure at one level.
type LOSOLevel struct {
	Level string   `json:"level"`
	At    SourceAt `json:"held_out_pooled"`
}

// SourceAt is the decisions on one source (or pooled) at a threshold.
type SourceAt struct {
	Source    string           `json:"source"`
	Threshold float64          `json:"threshold,omitempty"`
	AUC       float64          `json:"auc,omitempty"`
	BPCER     Rate             `json:"bpcer"`
	APCER     map[string]Rate  `json:"apcer_by_type"`
	Scores    *ScoreQuantiles  `json:"bona_fide_scores,omitempty"`
	extra     []passiveDecided // for pooling
}

// Rate is k errors of n with its 95% Clopper-Pearson interval.
type Rate struct {
	K    int     `json:"k"`
	N    int     `json:"n"`
	Rate float64 `json:"rate"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

// ScoreQuantiles summarise bona fide scores minus the threshold.
type ScoreQuantiles struct {
	P5, P50 float64
}

func errorRate(k, n int) Rate {
	lo, hi := clopperPearson(k, n, 0.05)
	r := Rate{K: k, N: n, Lo: lo, Hi: hi}
	if n > 0 {
		r.Rate = float64(k) / float64(n)
	}
	return r
}

type passiveDecided struct {
	attack bool
	typ    string
	accept bool
}

// scored is a sample's fused score.
type scoredSample struct {
	*PassiveSample
	score float64
}

// PassiveLOSO runs the leave-one-source-out evaluation of every fusion and
// rule on samples (features from PassiveFeatures).
func PassiveLOSO(samples []PassiveSample, cfg LOSOConfig) (*LOSOResult, error) {
	for i := range samples {
		if samples[i].F != nil {
			derive(samples[i].F)
		}
	}
	res := &LOSOResult{Level: cfg.Level.String()}
	var sources []string
	counts := map[string]*SourceCounts{}
	for _, s := range samples {
		c := counts[s.Source]
		if c == nil {
			c = &SourceCounts{Source: s.Source, Attacks: map[string]int{}}
			counts[s.Source] = c
			sources = append(sources, s.Source)
		}
		if s.Attack {
			c.Attacks[s.Type]++
		} else {
			c.BonaFide++
			if s.Failed {
				c.Failed++
			}
		}
	}
	sort.Strings(sources)
	for _, src := range sources {
		res.Sources = append(res.Sources, *counts[src])
	}
	detailed := cfg.Detailed
	if detailed == "" && len(cfg.Fusions) > 0 {
		detailed = cfg.Fusions[0].Name
	}
	for _, fu := range cfg.Fusions {
		for _, rule := range cfg.Rules {
			lf := LOSOFusion{PassiveFusion: fu, Rule: rule}
			all, err := fitFusion(fu, samples, cfg.Lambda)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fu.Name, err)
			}
			lf.Model = all
			inThr, err := levelThreshold(scoreAll(all, samples), rule, cfg.Level)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fu.Name, err)
			}
			allScored := scoreAll(all, samples)
			var inPool []passiveDecided
			heldThr := map[string]map[liveness.Level]float64{}
			heldScored := map[string][]scoredSample{}
			for _, src := range sources {
				var train []PassiveSample
				for _, s := range samples {
					if s.Source != src {
						train = append(train, s)
					}
				}
				m, err := fitFusion(fu, train, cfg.Lambda)
				if err != nil {
					return nil, fmt.Errorf("%s without %s: %w", fu.Name, src, err)
				}
				trainScored := scoreAll(m, train)
				heldThr[src] = map[liveness.Level]float64{}
				for _, lv := range liveness.Levels {
					t, err := levelThreshold(trainScored, rule, lv)
					if err != nil {
						return nil, fmt.Errorf("%s without %s: %w", fu.Name, src, err)
					}
					heldThr[src][lv] = t
				}
				var held []scoredSample
				for _, s := range scoreAll(m, samples) {
					if s.Source == src {
						held = append(held, s)
					}
				}
				heldScored[src] = held
				at := decideAt(src, held, heldThr[src][cfg.Level])
				lf.HeldOut = append(lf.HeldOut, at)
				var in []scoredSample
				for _, s := range allScored {
					if s.Source == src {
						in = append(in, s)
					}
				}
				ia := decideAt(src, in, inThr)
				lf.InSample = append(lf.InSample, ia)
				inPool = append(inPool, ia.extra...)
			}
			var pool []passiveDecided
			for _, h := range lf.HeldOut {
				pool = append(pool, h.extra...)
			}
			lf.Pooled = pooledAt(pool)
			lf.InPooled = pooledAt(inPool)
			lf.InPooled.Threshold = inThr
			if fu.Name == detailed {
				for _, lv := range liveness.Levels {
					var p []passiveDecided
					for _, src := range sources {
						p = append(p, decideAt(src, heldScored[src], heldThr[src][lv]).extra...)
					}
					lf.Levels = append(lf.Levels, LOSOLevel{Level: lv.String(), At: pooledAt(p)})
				}
			}
			res.Fusions = append(res.Fusions, lf)
		}
	}
	return res, nil
}

// fitFusion returns the fusion's score over samples: its fixed weights, or
// a logistic regression with every (source, class) cell weighted equally.
func fitFusion(fu PassiveFusion, samples []PassiveSample, lambda float64) (logit, error) {
	if fu.Fixed != nil {
		return logit{Feats: fu.Feats, W: fu.Fixed}, nil
	}
	cell := map[string]int{}
	key := func(s PassiveSample) string { return fmt.Sprintf("%s/%v", s.Source, s.Attack) }
	for _, s := range samples {
		if s.F != nil {
			cell[key(s)]++
		}
	}
	var x [][]float64
	var y, w []float64
	for _, s := range samples {
		if s.F == nil {
			continue
		}
		row := make([]float64, len(fu.Feats))
		for j, n := range fu.Feats {
			row[j] = s.F[n]
		}
		x = append(x, row)
		yv := 1.0
		if s.Attack {
			yv = 0
		}
		y = append(y, yv)
		w = append(w, 1/float64(cell[key(s)]))
	}
	return fitLogit(fu.Feats, x, y, w, lambda)
}

func scoreAll(m logit, samples []PassiveSample) []scoredSample {
	out := make([]scoredSample, len(samples))
	for i := range samples {
		out[i] = scoredSample{PassiveSample: &samples[i], score: math.Inf(-1)}
		if samples[i].F != nil && !samples[i].Failed {
			out[i].score = m.score(samples[i].F)
		}
	}
	return out
}

// levelThreshold calibrates level's threshold on scored by rule.
func levelThreshold(scored []scoredSample, rule string, level liveness.Level) (float64, error) {
	target := liveness.TargetAPCER[level]
	threshold := map[string]func([]liveness.Sample, float64) (float64, bool){
		RulePooled: liveness.ThresholdAtAPCER, RuleBalanced: liveness.ThresholdAtBalancedAPCER}[rule]
	if threshold == nil {
		return 0, fmt.Errorf("unknown calibration rule %q", rule)
	}
	ls := make([]liveness.Sample, 0, len(scored))
	for _, s := range scored {
		ls = append(ls, liveness.Sample{Score: s.score, Attack: s.Attack, Type: s.Type, Group: s.Source, Failed: math.IsInf(s.score, -1)})
	}
	t, ok := threshold(ls, target)
	if !ok {
		return 0, fmt.Errorf("no attacks to calibrate on")
	}
	return t, nil
}

// decideAt decides the samples of one source at thr.
func decideAt(src string, scored []scoredSample, thr float64) SourceAt {
	at := SourceAt{Source: src, Threshold: thr}
	var ls []liveness.Sample
	var bf []float64
	for _, s := range scored {
		acc := s.score >= thr
		at.extra = append(at.extra, passiveDecided{attack: s.Attack, typ: s.Type, accept: acc})
		ls = append(ls, liveness.Sample{Score: s.score, Attack: s.Attack, Failed: math.IsInf(s.score, -1)})
		if !s.Attack {
			bf = append(bf, s.score-thr)
		}
	}
	p := pooledAt(at.extra)
	at.BPCER, at.APCER = p.BPCER, p.APCER
	at.AUC = liveness.AUC(ls)
	if len(bf) > 0 {
		slices.Sort(bf)
		at.Scores = &ScoreQuantiles{P5: bf[len(bf)*5/100], P50: bf[len(bf)/2]}
	}
	return at
}

func pooledAt(d []passiveDecided) SourceAt {
	at := SourceAt{Source: "pooled", APCER: map[string]Rate{}}
	var bf, rej int
	n, acc := map[string]int{}, map[string]int{}
	for _, x := range d {
		if x.attack {
			n[x.typ]++
			if x.accept {
				acc[x.typ]++
			}
		} else {
			bf++
			if !x.accept {
				rej++
			}
		}
	}
	at.BPCER = errorRate(rej, bf)
	for t := range n {
		at.APCER[t] = errorRate(acc[t], n[t])
	}
	at.extra = d
	return at
}
