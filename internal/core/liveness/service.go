// Package liveness holds the liveness use cases: passive liveness of one
// image, and active (challenge) liveness in a bio-session -- parameters,
// capture, analysis, the upload-created event, results, replay and the
// recording. Its state lives in the session's Data (JSON, changed with
// compare-and-swap). It knows no HTTP: transport/httpapi parses requests,
// calls a Service and answers.
package liveness

import (
	"context"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	passive "github.com/facelambda/facelambda/internal/ml/liveness"
)

// Passive is the passive liveness detector with its level calibration.
type Passive struct {
	Detector    *passive.Detector
	Calibration *passive.Calibration
}

// Active configures active (challenge) liveness in bio-sessions.
type Active struct {
	// Keys seals each session's capture key (RSA) in the session record.
	Keys *envelope.Sealer
	// Challenge holds the thresholds of the challenge checks; Timeout and
	// LiveThreshold are set per session from its parameters.
	Challenge challenge.Config
	// PassiveFrames is how many frames HIGH mode scores with the passive
	// model (the best frame and others spread over the capture); MEDIUM
	// scores the best frame only. Default 5.
	PassiveFrames int
	// MaxAttempts bounds init-liveness-parameters calls per session, so a
	// client cannot shop for an easy challenge sequence. Default 5.
	MaxAttempts int
	// UploadGrace is the time after the challenge timeout during which the
	// capture may still arrive (upload time). Default 2 minutes.
	UploadGrace time.Duration
	// Limits bound a capture; zero means capture.DefaultLimits().
	Limits capture.Limits
	// ExposeChecks answers the measures behind a result (identity cosine,
	// planar residuals, passive score and thresholds) in its checks; off,
	// only the frame counts are answered (the measures are logged). They
	// help an integrator debug and an attacker tune a spoof.
	ExposeChecks bool
	// DrawChallenges, when set, replaces challenge.Draw: it answers the
	// challenges of a new attempt from its seed and the requested count
	// (nbChallenge becomes the number answered). Test-only: set by
	// `facelambda serve --test-fixed-challenges` for the browser test,
	// never by a Lambda (internal/layers_test.go).
	DrawChallenges func(seed uint64, n int) ([]challenge.Action, error)
}

func (a Active) withDefaults() Active {
	if a.PassiveFrames <= 0 {
		a.PassiveFrames = 5
	}
	if a.MaxAttempts <= 0 {
		a.MaxAttempts = 5
	}
	if a.UploadGrace <= 0 {
		a.UploadGrace = 2 * time.Minute
	}
	if a.Limits.MaxFrames == 0 {
		a.Limits = capture.DefaultLimits()
	}
	return a
}

// Service runs the liveness use cases. Build it with New.
type Service struct {
	records store.Records
	blobs   store.Blobs
	bio     *biometric.Service
	passive *Passive
	active  *Active
	signer  *signing.Signer
	deps    Deps
}

// Deps are what a Service needs. Passive nil: liveness is not served;
// Active nil: active liveness is not served.
type Deps struct {
	Records store.Records
	Blobs   store.Blobs
	Bio     *biometric.Service
	Passive *Passive
	Active  *Active
	// Signer signs the capture certificate (nil: none is issued).
	Signer *signing.Signer
	Now    func() time.Time
	// SessionPrefix is the blob prefix of a session's objects (deleted
	// with it).
	SessionPrefix func(tenant, session string) string
	// Emit publishes a domain event (nil: none); err is the constructor's.
	Emit func(ctx context.Context, ev events.Event, err error)
	// BestFrame stores a live capture's best frame as a face of the
	// session and returns its id.
	BestFrame func(ctx context.Context, tenant, session string, a *biometric.Analysis, img []byte, imageStorage bool) (string, error)
	// Usage records a billable analysis started by an upload event; err is
	// its outcome (nil: success).
	Usage func(ctx context.Context, tenant, action, tx, id string, at time.Time, err error)
}

// New returns a Service; the Active configuration is copied with its
// defaults filled.
func New(d Deps) *Service {
	s := &Service{records: d.Records, blobs: d.Blobs, bio: d.Bio, passive: d.Passive, signer: d.Signer, deps: d}
	if d.Active != nil {
		a := d.Active.withDefaults()
		s.active = &a
	}
	if s.deps.SessionPrefix == nil {
		s.deps.SessionPrefix = func(t, sid string) string { return "sessions/" + t + "/" + sid + "/" }
	}
	return s
}

// Limits are the bounds of a capture (the transport bounds bodies by them).
func (s *Service) Limits() capture.Limits {
	if s.active == nil {
		return capture.DefaultLimits()
	}
	return s.active.Limits
}

// MaxCaptureBytes is the largest capture body accepted (the limit of the
// frames plus the container's overhead).
func (s *Service) MaxCaptureBytes() int64 { return s.Limits().MaxTotalBytes + 1<<20 }

// ActiveReady reports (as an Unavailable error) when active liveness is not
// served by this deployment.
func (s *Service) ActiveReady() error {
	if s.active == nil || s.passive == nil || s.bio == nil {
		return fault.New(fault.CodeNotConfigured, "active liveness is not configured in this deployment")
	}
	return nil
}

func (s *Service) now() time.Time {
	if s.deps.Now != nil {
		return s.deps.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) emit(ctx context.Context, ev events.Event, err error) {
	if s.deps.Emit != nil {
		s.deps.Emit(ctx, ev, err)
	}
}
