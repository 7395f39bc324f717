package liveness

import (
	"context"

	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
)

// Analysis is a capture judged outside a bio-session: the result an
// attempt would store, and what was measured on each analysed frame.
type Analysis struct {
	Result *ChallengeResult
	// Frames are the indexes in the capture of the analysed frames (a long
	// capture is sampled to MaxAnalysedFrames); Observations what was
	// measured on each (Live is NaN where the passive model did not run).
	Frames       []int
	Observations []challenge.Observation
}

// Analyse runs the analysis of an active liveness attempt on capture c for
// the parameters p (their Challenges, Type, Timeout and PassiveLevel),
// with no session, store or event: what the evaluation tools measure.
func (s *Service) Analyse(ctx context.Context, c *capture.Capture, p Parameters) (*Analysis, error) {
	if err := s.ActiveReady(); err != nil {
		return nil, err
	}
	a := &Analysis{Frames: sampleFrames(len(c.Frames), MaxAnalysedFrames)}
	res, _, err := s.analyseObserved(ctx, c, p, modeOf(p.Type), c.Manifest.SessionID, &a.Observations)
	if err != nil {
		return nil, err
	}
	a.Result = res
	return a, nil
}
