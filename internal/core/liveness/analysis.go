package liveness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/fault"
	passive "github.com/facelambda/facelambda/internal/ml/liveness"
)

// identityFAR is the false-acceptance rate of the same-person check
// between the frames of one capture.
const identityFAR = 1e-3

// MaxAnalysedFrames bounds the frames one analysis measures: a longer
// capture is sampled evenly (first and last frames kept), so that a
// capture's analysis fits a function's time limit whatever its length.
const MaxAnalysedFrames = 60

// frameResult is the analysis of one frame.
type frameResult struct {
	a   *biometric.Analysis
	obs challenge.Observation
}

// bestFrame is the capture's best frame and its analysis.
type bestFrame struct {
	analysis *biometric.Analysis
	image    []byte
}

// sampleFrames returns the indexes of at most limit frames of n, evenly
// spread, the first and the last included.
func sampleFrames(n, limit int) []int {
	limit = max(limit, 2)
	if n <= limit {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := make([]int, limit)
	for i := range idx {
		idx[i] = i * (n - 1) / (limit - 1)
	}
	return idx
}

// analyse measures the frames and judges the challenges.
func (s *Service) analyse(ctx context.Context, c *capture.Capture, p Parameters, mode, sid string) (*ChallengeResult, *bestFrame, error) {
	return s.analyseObserved(ctx, c, p, mode, sid, nil)
}

// analyseObserved is analyse that also hands the observations of the
// analysed frames to observed (when not nil).
func (s *Service) analyseObserved(ctx context.Context, c *capture.Capture, p Parameters, mode, sid string, observed *[]challenge.Observation) (*ChallengeResult, *bestFrame, error) {
	sampled := &capture.Capture{Manifest: c.Manifest}
	for _, i := range sampleFrames(len(c.Frames), MaxAnalysedFrames) {
		sampled.Frames = append(sampled.Frames, c.Frames[i])
	}
	c = sampled
	frames, err := s.measureFrames(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	level, err := passive.ParseLevel(p.PassiveLevel)
	if err != nil {
		return nil, nil, err
	}
	liveThr, err := s.passive.Calibration.Threshold(level)
	if err != nil {
		return nil, nil, err
	}
	sameCos, err := s.bio.CosineAt(identityFAR)
	if err != nil {
		return nil, nil, err
	}
	cfg := s.active.Challenge
	cfg.Timeout = time.Duration(p.Timeout) * time.Millisecond
	cfg.SameCosine = sameCos
	cfg.LiveThreshold = liveThr
	cfg.StrictOrder = cfg.StrictOrder || mode == ModeHigh
	obs := make([]challenge.Observation, len(frames))
	for i, f := range frames {
		obs[i] = f.obs
	}
	// First pass without passive scores: it finds the best frame and the
	// frames facing the camera, which are the ones the passive model was
	// calibrated on.
	pre := challenge.Analyze(p.Challenges, obs, cfg)
	n := 1
	if mode == ModeHigh {
		n = s.active.PassiveFrames
	}
	for _, i := range passiveFrames(obs, pre.BestFrame, n) {
		if err := s.scorePassive(c.Frames[i].Data, &obs[i]); err != nil {
			return nil, nil, err
		}
	}
	res := challenge.Analyze(p.Challenges, obs, cfg)
	if observed != nil {
		*observed = obs
	}
	out := &ChallengeResult{LivenessStatus: string(res.Status), LivenessMode: mode, NumberOfChallenge: len(p.Challenges),
		BioSessionID: sid, ServerRandom: p.ServerRandom}
	if res.Diagnostic != "" {
		diag := res.Diagnostic
		out.Diagnostic = &diag
	}
	for _, st := range res.Steps {
		sr := StepResult{Action: st.Action, Met: st.Met}
		if st.Met {
			ms := st.At.Milliseconds()
			sr.AtMs = &ms
		}
		out.Challenges = append(out.Challenges, sr)
	}
	withFace := 0
	for _, o := range obs {
		if o.Faces > 0 {
			withFace++
		}
	}
	ms := &ChallengeMeasures{IdentityMinCosine: round4(res.MinCosine), IdentityThreshold: round4(sameCos),
		PlanarPairs: res.Planarity.Pairs, PlanarSimilarityResidual: round4(res.Planarity.Similarity),
		PlanarHomographyResidual: round4(res.Planarity.Homography), Planar: res.Planarity.Planar,
		PassiveFrames: res.LiveFrames, PassiveThreshold: round4(liveThr)}
	if res.LiveFrames > 0 && !math.IsNaN(res.LiveMedian) {
		v := round4(res.LiveMedian)
		ms.PassiveScore = &v
	}
	out.Checks = &ChallengeChecks{Frames: len(obs), FramesWithFace: withFace, DurationMs: res.Duration.Milliseconds(),
		PassiveLevel: level.String()}
	// The measures are logged always, and answered only when the
	// deployment says so.
	slog.InfoContext(ctx, "liveness analysis", "session", sid, "status", out.LivenessStatus, "diagnostic", res.Diagnostic,
		"frames", len(obs), "withFace", withFace, "minCosine", ms.IdentityMinCosine, "planarPairs", ms.PlanarPairs,
		"homography", ms.PlanarHomographyResidual, "similarity", ms.PlanarSimilarityResidual, "passive", optional(ms.PassiveScore))
	if s.active.ExposeChecks {
		out.Checks.Measures = ms
	}
	if res.BestFrame < 0 {
		return out, nil, nil
	}
	return out, &bestFrame{analysis: frames[res.BestFrame].a, image: c.Frames[res.BestFrame].Data}, nil
}

// optional is a log value of an optional number: the number, or null
// (slog would print the pointer).
func optional(p *float64) slog.Value {
	if p == nil {
		return slog.AnyValue(nil)
	}
	return slog.Float64Value(*p)
}

func round4(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1e4) / 1e4
}

// passiveFrames picks up to n frames for the passive model: the best frame
// and frames facing the camera spread over the capture.
func passiveFrames(obs []challenge.Observation, best, n int) []int {
	if best < 0 {
		return nil
	}
	out := []int{best}
	var frontal []int
	for i, o := range obs {
		if i != best && o.Faces == 1 && (!o.PoseAvailable || math.Abs(o.Yaw) < 15 && math.Abs(o.Pitch) < 15) {
			frontal = append(frontal, i)
		}
	}
	for k := 0; k < n-1 && k < len(frontal); k++ {
		// evenly spread: the k-th of n-1 quantiles
		out = append(out, frontal[(2*k+1)*len(frontal)/(2*(n-1))])
	}
	sort.Ints(out)
	return slices.Compact(out)
}

// scorePassive runs the passive liveness models on a frame. The frame is
// analysed again, with its decoded image kept, rather than keeping every
// frame's image from the first pass (up to 60 decoded frames): the few
// frames scored take the exact path the levels were calibrated on
// (POST /v2/liveness).
func (s *Service) scorePassive(img []byte, o *challenge.Observation) error {
	a, err := s.bio.Analyze(img, biometric.Options{Label: "frame", KeepImage: true})
	if err != nil {
		return err
	}
	r, err := s.passive.Detector.Score(a.Image, a.ImageBox)
	if err != nil {
		return err
	}
	o.Live = r.Score
	return nil
}

// measureFrames analyses every frame, in parallel.
func (s *Service) measureFrames(ctx context.Context, c *capture.Capture) ([]frameResult, error) {
	out := make([]frameResult, len(c.Frames))
	errs := make([]error, len(c.Frames))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = s.measureFrame(c.Frames[i], i)
			}
		}()
	}
	for i := range c.Frames {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) measureFrame(f capture.Frame, i int) (frameResult, error) {
	o := challenge.Observation{Time: f.Time, LeftEyeOpen: -1, RightEyeOpen: -1, Live: math.NaN()}
	a, err := s.bio.Analyze(f.Data, biometric.Options{Label: fmt.Sprintf("frame %d", i), QualityMode: biometric.QualityDisabled})
	var be *fault.Error
	if errors.As(err, &be) && be.Code == fault.CodeFaceNotFound {
		return frameResult{obs: o}, nil
	}
	if err != nil {
		return frameResult{}, err
	}
	return frameResult{a: a, obs: Observe(a, f.Time)}, nil
}
