package liveness

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	passive "github.com/facelambda/facelambda/internal/ml/liveness"
)

// QualityVerdict says whether a capture can be judged at all.
type QualityVerdict struct {
	// Status is "OK", or "RETAKE" when the capture is too poor to judge:
	// no verdict on spoofing is given then.
	Status string   `json:"status"`
	Failed []string `json:"failed"`
	// Details explains each failed check.
	Details []string            `json:"details,omitempty"`
	Quality int                 `json:"quality"`
	Measure *biometric.Measures `json:"qualityMeasures,omitempty"`
}

// Judgement is the passive liveness verdict on one image (seed 002's
// fields of POST /v2/liveness). The transport adds the signature.
type Judgement struct {
	IsSpoof *bool `json:"is_spoof"`
	// Score is the fused live log-odds (higher is more live), null on RETAKE.
	Score        *float64           `json:"score"`
	Probability  *float64           `json:"live_probability,omitempty"`
	Threshold    string             `json:"threshold"`
	HighestLevel *string            `json:"as_highest_security_level_reached"`
	Quality      QualityVerdict     `json:"quality"`
	Models       map[string]float64 `json:"models,omitempty"`
	RefID        string             `json:"refid"`
}

// Capture limits of passive liveness: frames outside them are asked again
// rather than judged (the calibration data had faces 85-431 px high).
const (
	minFace  = 80
	maxYaw   = 30
	maxPitch = 30
	maxRoll  = 25
)

// PassiveReady reports (as an Unavailable error) when passive liveness is
// not served by this deployment.
func (s *Service) PassiveReady() error {
	if s.passive == nil {
		return fault.New(fault.CodeNotConfigured, "liveness is not configured in this deployment")
	}
	return nil
}

// ParseThreshold parses the threshold (a passive level name) of a passive
// liveness request.
func ParseThreshold(s string) (passive.Level, error) {
	level, err := passive.ParseLevel(strings.ToUpper(s))
	if err != nil {
		return 0, fault.Invalid("threshold: %v", err)
	}
	return level, nil
}

// Judge says whether img shows a live face at level: RETAKE (no verdict)
// when the capture is too poor, else the spoof verdict, published as
// liveness.completed. The subject is what a signature of it is about.
func (s *Service) Judge(ctx context.Context, t string, img []byte, level passive.Level, refID string) (*Judgement, signing.Subject, error) {
	if err := s.PassiveReady(); err != nil {
		return nil, signing.Subject{}, err
	}
	a, err := s.bio.Analyze(img, biometric.Options{Label: "image", KeepImage: true})
	if err != nil {
		return nil, signing.Subject{}, err
	}
	res := &Judgement{Threshold: level.String(), RefID: refID}
	subject := signing.Subject{Role: "image", ImageSHA256: a.Digest}
	m := a.Measures
	res.Quality = QualityVerdict{Status: "OK", Failed: []string{}, Quality: a.Quality, Measure: &m}
	fail := func(check, why string) {
		res.Quality.Failed = append(res.Quality.Failed, check)
		res.Quality.Details = append(res.Quality.Details, why)
	}
	if a.Box.Height < minFace {
		fail("FACE_TOO_SMALL", fmt.Sprintf("face is %.0f px high, need %d", a.Box.Height, minFace))
	}
	if m.Truncation > 0.05 {
		fail("FACE_CUT_OFF", fmt.Sprintf("%.0f%% of the face is outside the image", 100*m.Truncation))
	}
	if m.LeftEyeOpen != nil && math.Min(*m.LeftEyeOpen, *m.RightEyeOpen) < 0.2 {
		fail("EYES_CLOSED", "eyes appear closed")
	}
	if m.Yaw != nil && (math.Abs(*m.Yaw) > maxYaw || math.Abs(*m.Pitch) > maxPitch) || math.Abs(m.Roll) > maxRoll {
		fail("POSE", "the head is turned or tilted too far")
	}
	if m.Overexposure > 0.25 || m.Brightness > 220 {
		fail("OVEREXPOSED", "the face is overexposed")
	}
	if m.Underexposure > 0.25 || m.Brightness < 40 {
		fail("UNDEREXPOSED", "the face is underexposed")
	}
	if len(res.Quality.Failed) > 0 {
		res.Quality.Status = "RETAKE"
		return res, subject, nil
	}
	out, err := s.passive.Detector.Score(a.Image, a.ImageBox)
	if err != nil {
		return nil, signing.Subject{}, err
	}
	spoof := s.passive.Calibration.IsSpoof(out.Score, level)
	score := math.Round(out.Score*1e4) / 1e4
	p := math.Round(passive.Sigmoid(out.Score)*1e4) / 1e4
	res.IsSpoof, res.Score, res.Probability, res.Models = &spoof, &score, &p, out.Models
	if l, ok := s.passive.Calibration.HighestLevel(out.Score); ok {
		h := l.String()
		res.HighestLevel = &h
	}
	ev, err := events.NewLivenessCompleted(t, events.LivenessData{Score: score, Live: !spoof, Level: level.String(), RefID: res.RefID})
	s.emit(ctx, ev, err)
	return res, subject, nil
}
