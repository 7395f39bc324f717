package liveness

import (
	"context"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
)

// ChallengeResult is the result of an active liveness attempt: seed 000's
// getLivenessChallengeResult fields plus each challenge's outcome and the
// measures behind the verdict. The transport adds the signature.
type ChallengeResult struct {
	LivenessStatus    string           `json:"livenessStatus"`
	Diagnostic        *string          `json:"diagnostic"`
	BestImageID       *string          `json:"bestImageId"`
	LivenessMode      string           `json:"livenessMode"`
	NumberOfChallenge int              `json:"numberOfChallenge"`
	Challenges        []StepResult     `json:"challenges"`
	Checks            *ChallengeChecks `json:"checks,omitempty"`
	BioSessionID      string           `json:"bioSessionId"`
	ServerRandom      string           `json:"serverRandom"`
	// Source says how the capture came: multipart, archive, upload or replay.
	Source    string     `json:"source,omitempty"`
	Completed *time.Time `json:"completed,omitempty"`
	RefID     string     `json:"refid,omitempty"`
	// CaptureSHA256 is the hex SHA-256 of the capture container judged
	// (the recording); empty when no capture was judged.
	CaptureSHA256 string `json:"captureSha256,omitempty"`
}

// Subjects are what a challenge result is about: the session's attempt
// (its serverRandom) and the capture judged, when there was one.
func (c *ChallengeResult) Subjects() []signing.Subject {
	return []signing.Subject{{Role: "capture", ID: c.BioSessionID + "/" + c.ServerRandom, CaptureSHA256: c.CaptureSHA256}}
}

// StepResult is one challenge's outcome.
type StepResult struct {
	Action challenge.Action `json:"action"`
	Met    bool             `json:"met"`
	// AtMs is when it was met (ms since the first frame).
	AtMs *int64 `json:"atMs"`
}

// ChallengeChecks describe the capture behind a challenge result.
type ChallengeChecks struct {
	Frames         int    `json:"frames"`
	FramesWithFace int    `json:"framesWithFace"`
	DurationMs     int64  `json:"durationMs"`
	PassiveLevel   string `json:"passiveLevel"`
	// Measures are answered only when the deployment exposes them
	// (Active.ExposeChecks): they would help tune a spoof.
	Measures *ChallengeMeasures `json:"measures,omitempty"`
}

// ChallengeMeasures are the measures behind a verdict.
type ChallengeMeasures struct {
	// IdentityMinCosine is the lowest cosine between a frame's face and the
	// best frame's; IdentityThreshold the least allowed.
	IdentityMinCosine float64 `json:"identityMinCosine"`
	IdentityThreshold float64 `json:"identityThreshold"`
	// Planar motion test (residuals in fractions of the inter-eye distance).
	PlanarPairs              int     `json:"planarPairs"`
	PlanarSimilarityResidual float64 `json:"planarSimilarityResidual"`
	PlanarHomographyResidual float64 `json:"planarHomographyResidual"`
	Planar                   bool    `json:"planar"`
	// Passive liveness over the scored frames: median fused log-odds.
	PassiveScore     *float64 `json:"passiveScore"`
	PassiveFrames    int      `json:"passiveFrames"`
	PassiveThreshold float64  `json:"passiveThreshold"`
}

// Result returns the result of the session's last attempt. mode must be
// the mode of its parameters (seed 000: the integrator names the mode it
// asked for, so a client cannot pass a weaker mode off as a stronger one).
// An attempt whose parameters expired without a capture reads TIMEOUT, one
// whose analysis died reads ERROR; either is stored and published the
// first time it is read.
func (s *Service) Result(ctx context.Context, t, sid, mode string) (*ChallengeResult, error) {
	_, st, err := s.load(ctx, t, sid)
	if err != nil {
		return nil, err
	}
	m := strings.ToUpper(mode)
	if m != ModeMedium && m != ModeHigh {
		return nil, fault.Invalid("livenessMode %q must be %s or %s", mode, ModeMedium, ModeHigh)
	}
	if m != st.Mode {
		return nil, fault.Newf(fault.CodeLivenessModeMismatch, "the bio-session's liveness parameters are %s, not %s", st.Mode, m)
	}
	res := s.settle(ctx, t, sid, st)
	return &res, nil
}

// emitCompleted publishes liveness.completed for an attempt's result.
func (s *Service) emitCompleted(ctx context.Context, t string, res *ChallengeResult) {
	data := events.LivenessData{SessionID: res.BioSessionID, LivenessStatus: res.LivenessStatus,
		LivenessMode: res.LivenessMode, RefID: res.RefID, Live: res.LivenessStatus == string(challenge.StatusSuccess)}
	if res.Diagnostic != nil {
		data.Diagnostic = *res.Diagnostic
	}
	if res.BestImageID != nil {
		data.FaceID = *res.BestImageID
	}
	if res.Checks != nil {
		data.Level = res.Checks.PassiveLevel
		if m := res.Checks.Measures; m != nil && m.PassiveScore != nil {
			data.Score = *m.PassiveScore
		}
	}
	ev, err := events.NewLivenessCompleted(t, data)
	s.emit(ctx, ev, err)
}
