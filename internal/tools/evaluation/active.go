package evaluation

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

// ActiveResult is the JSON report of `eval active`.
type ActiveResult struct {
	Identities int `json:"identities"`
	// BonaFide are sequences of an identity's own photos showing the asked
	// head poses (real 3D heads, but different photos: expressions and
	// lighting change between frames, unlike a capture).
	BonaFide ActiveFigures `json:"bona_fide"`
	// Attack are the identity's frontal photo turned as a plane through the
	// same challenges (yaw +-35, pitch +-25 degrees).
	Attack ActiveFigures `json:"attack"`
	// BPCER is the share of bona fide sequences not judged SUCCESS; APCER
	// the share of attacks judged SUCCESS.
	BPCER float64 `json:"bpcer"`
	APCER float64 `json:"apcer"`
	// Cues are the landmark-geometry cues (challenge.GeometryYaw,
	// GeometryPitch) of all the photos analysed, by the pose model's
	// reading: what GeomTurn, GeomTilt and GeomPitchZero are set from.
	Cues map[string]CueQuantiles `json:"cues"`
}

// CueQuantiles are the 5, 10, 25, 50, 75, 90 and 95% quantiles of a cue.
type CueQuantiles struct {
	N         int       `json:"n"`
	Quantiles []float64 `json:"quantiles"`
}

// ActiveFigures count the verdicts and diagnostics of one kind of
// sequence.
type ActiveFigures struct {
	Sequences   int            `json:"sequences"`
	Status      map[string]int `json:"status"`
	Diagnostics map[string]int `json:"diagnostics"`
}

// Active judges, for the first maxIDs identities under root with four or
// more photos, a bona fide sequence of the identity's own photos for every
// challenge they can show, and the planar attack of its frontal photo on
// the same challenges; it also collects the geometry cues of every photo.
func Active(ctx context.Context, svc *biometric.Service, root string, maxIDs int) (*ActiveResult, error) {
	use, byID, err := identityPhotos(root, 4, maxIDs)
	if err != nil {
		return nil, err
	}
	cfg := challenge.DefaultConfig()
	if cfg.SameCosine, err = svc.CosineAt(1e-3); err != nil {
		return nil, err
	}
	res := &ActiveResult{Identities: len(use),
		BonaFide: ActiveFigures{Status: map[string]int{}, Diagnostics: map[string]int{}},
		Attack:   ActiveFigures{Status: map[string]int{}, Diagnostics: map[string]int{}}}
	var mu sync.Mutex
	cues := map[string][]float64{}
	add := func(f *ActiveFigures, r challenge.Result) {
		f.Sequences++
		f.Status[string(r.Status)]++
		if r.Diagnostic != "" {
			f.Diagnostics[r.Diagnostic]++
		}
	}
	dataset.Map(ctx, use, 0, func(id string) (struct{}, error) {
		bona, attack, obs := activeSequences(svc, byID[id], cfg, id)
		mu.Lock()
		defer mu.Unlock()
		for _, o := range obs {
			for k, v := range cueClasses(o) {
				cues[k] = append(cues[k], v)
			}
		}
		for _, r := range bona {
			add(&res.BonaFide, r)
		}
		for _, r := range attack {
			add(&res.Attack, r)
		}
		return struct{}{}, nil
	}, nil)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Cues = map[string]CueQuantiles{}
	for k, v := range cues {
		sort.Float64s(v)
		c := CueQuantiles{N: len(v)}
		for _, q := range []float64{0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95} {
			c.Quantiles = append(c.Quantiles, math.Round(quantile(v, q)*1000)/1000)
		}
		res.Cues[k] = c
	}
	if n := res.BonaFide.Sequences; n > 0 {
		res.BPCER = 1 - float64(res.BonaFide.Status["SUCCESS"])/float64(n)
	}
	if n := res.Attack.Sequences; n > 0 {
		res.APCER = float64(res.Attack.Status["SUCCESS"]) / float64(n)
	}
	return res, nil
}

// activeSequences builds, for one identity, a bona fide sequence for every
// challenge its photos can show (one or two actions), and the planar
// attack on the same challenges, and judges them.
func activeSequences(svc *biometric.Service, paths []string, cfg challenge.Config, id string) (bona, attack []challenge.Result, all []challenge.Observation) {
	photos := observePhotos(svc, paths)
	for _, p := range photos {
		all = append(all, p.obs)
	}
	// The neutral photo, and one photo per action the identity shows.
	neutral := -1
	for i, p := range photos {
		if challenge.Performs(p.obs, cfg, "") && (neutral < 0 || off(p.obs) < off(photos[neutral].obs)) {
			neutral = i
		}
	}
	if neutral < 0 {
		return nil, nil, all
	}
	// An action photo must show the move from the neutral photo, as
	// Analyze measures moves from the subject's rest.
	shown := map[challenge.Action]int{}
	for _, a := range []challenge.Action{challenge.TurnLeft, challenge.TurnRight, challenge.LookUp, challenge.LookDown} {
		for i, p := range photos {
			if challenge.PerformsFrom(photos[neutral].obs, p.obs, cfg, a) {
				shown[a] = i
				break
			}
		}
	}
	var acts []challenge.Action
	for _, a := range challenge.Actions {
		if _, ok := shown[a]; ok {
			acts = append(acts, a)
		}
	}
	if len(acts) == 0 {
		return nil, nil, all
	}
	rng := rand.New(rand.NewPCG(uint64(len(id)), hash(id)))
	seqs := [][]challenge.Action{}
	for _, a := range acts {
		seqs = append(seqs, []challenge.Action{a})
	}
	if len(acts) >= 2 {
		i, j := rng.IntN(len(acts)), rng.IntN(len(acts)-1)
		if j >= i {
			j++
		}
		seqs = append(seqs, []challenge.Action{acts[i], acts[j]})
	}
	dec, err := decode.Decode(photos[neutral].img, decode.Options{})
	if err != nil {
		return nil, nil, all
	}
	turned := map[challenge.Action]challenge.Observation{}
	for a, pose := range map[challenge.Action][2]float64{challenge.TurnLeft: {-35, 0}, challenge.TurnRight: {35, 0},
		challenge.LookUp: {0, 25}, challenge.LookDown: {0, -25}} {
		if o, ok := observeTurned(svc, dec.Image, pose[0], pose[1]); ok {
			turned[a] = o
		}
	}
	for _, seq := range seqs {
		// neutral x3, then per action: action x3, neutral x3
		var b, at []challenge.Observation
		push := func(list *[]challenge.Observation, o challenge.Observation, n int) {
			for range n {
				o.Time = time.Duration(len(*list)) * 100 * time.Millisecond
				o.Live = math.NaN()
				*list = append(*list, o)
			}
		}
		push(&b, photos[neutral].obs, 3)
		push(&at, photos[neutral].obs, 3)
		for _, a := range seq {
			push(&b, photos[shown[a]].obs, 3)
			push(&b, photos[neutral].obs, 3)
			if o, ok := turned[a]; ok {
				push(&at, o, 3)
			} else {
				push(&at, photos[neutral].obs, 3) // the turn did not even show a face
			}
			push(&at, photos[neutral].obs, 3)
		}
		bona = append(bona, challenge.Analyze(seq, b, cfg))
		attack = append(attack, challenge.Analyze(seq, at, cfg))
	}
	return bona, attack, all
}

// cueClasses files a photo's geometry cues by the pose model's reading:
// the yaw cue signed towards the turn for turned heads (|yaw| >= 20), both
// cues for frontal ones (|yaw|, |pitch| < 10), the pitch cue for heads
// looking up or down (|pitch| >= 12, |yaw| < 15).
func cueClasses(o challenge.Observation) map[string]float64 {
	gy, ok1 := challenge.GeometryYaw(o.Landmarks)
	gp, ok2 := challenge.GeometryPitch(o.Landmarks)
	if !ok1 || !ok2 || !o.PoseAvailable {
		return nil
	}
	out := map[string]float64{}
	ay := math.Abs(o.Yaw)
	switch {
	case ay >= 20:
		out["yaw cue, turned (signed to the turn)"] = math.Copysign(1, o.Yaw) * gy
	case ay < 10 && math.Abs(o.Pitch) < 10:
		out["yaw cue, frontal"] = gy
		out["pitch cue, frontal"] = gp
	}
	if ay < 15 && o.Pitch >= 12 {
		out["pitch cue, looking up"] = gp
	}
	if ay < 15 && o.Pitch <= -12 {
		out["pitch cue, looking down"] = gp
	}
	return out
}

func off(o challenge.Observation) float64 { return math.Abs(o.Yaw) + math.Abs(o.Pitch) }

func hash(s string) uint64 {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}
