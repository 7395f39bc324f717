package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/ml/liveness"
)

// Liveness is the passive liveness detector with its level calibration.
type Liveness struct {
	Detector    *liveness.Detector
	Calibration *liveness.Calibration
}

// LivenessHandler serves the liveness function: passive liveness of one image.
func LivenessHandler(d *Deps) http.Handler {
	d.defaults()
	rt := newRouter(d)
	rt.handle("POST", "/v2/liveness", auth.ScopeLiveness, d.billable("liveness", d.passiveLiveness))
	// Active liveness in a bio-session.
	rt.handle("POST", "/v2/bio-sessions/{id}/init-liveness-parameters", auth.ScopeLiveness, d.initLivenessParameters)
	rt.handle("GET", "/v2/bio-sessions/{id}/liveness-parameters", auth.ScopeLiveness, d.getLivenessParameters)
	rt.handle("POST", "/v2/bio-sessions/{id}/liveness-capture", auth.ScopeLiveness, d.billable("liveness-challenge", d.livenessCapture))
	rt.handle("POST", "/v2/bio-sessions/{id}/liveness-uploads", auth.ScopeLiveness, d.createLivenessUpload)
	rt.handle("GET", "/v2/bio-sessions/{id}/liveness-challenge-result/{livenessMode}", auth.ScopeLiveness, d.getChallengeResult)
	rt.handle("POST", "/v2/bio-sessions/{id}/replay-liveness-metadata", auth.ScopeLiveness, d.billable("liveness-challenge", d.replayLivenessMetadata))
	rt.handle("GET", "/v2/bio-sessions/{id}/replay-liveness-metadata", auth.ScopeLiveness, d.getReplayStatus)
	rt.handle("GET", "/v2/bio-sessions/{id}/recording", auth.ScopeLiveness, d.getRecording)
	return rt
}

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

// LivenessResult is the answer of POST /v2/liveness (seed 002's fields).
type LivenessResult struct {
	IsSpoof *bool `json:"is_spoof"`
	// Score is the fused live log-odds (higher is more live), null on RETAKE.
	Score        *float64           `json:"score"`
	Probability  *float64           `json:"live_probability,omitempty"`
	Threshold    string             `json:"threshold"`
	HighestLevel *string            `json:"as_highest_security_level_reached"`
	Quality      QualityVerdict     `json:"quality"`
	Models       map[string]float64 `json:"models,omitempty"`
	RefID        string             `json:"refid"`
	// Claims bind a signed verdict to the tenant, the request and the image.
	*signing.Claims
	Signature string `json:"signature,omitempty"`
}

func (l *LivenessResult) setSignature(sig string) { l.Signature = sig }
func (l *LivenessResult) bind(c *signing.Claims)  { l.Claims = c }

// Capture limits of passive liveness: frames outside them are asked again
// rather than judged (the calibration data had faces 85-431 px high).
const (
	livenessMinFace  = 80
	livenessMaxYaw   = 30
	livenessMaxPitch = 30
	livenessMaxRoll  = 25
)

func (d *Deps) passiveLiveness(w http.ResponseWriter, r *http.Request) {
	if d.Liveness == nil {
		writeError(w, r, errorf(http.StatusServiceUnavailable, "NOT_CONFIGURED", "liveness is not configured in this deployment"))
		return
	}
	form, err := readForm(w, r, "image")
	if err == nil {
		err = form.only(fieldsOf(nil, "image", "threshold"))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	level, err := liveness.ParseLevel(strings.ToUpper(form.fields["threshold"]))
	if err != nil {
		writeError(w, r, biometric.Invalid("threshold: %v", err))
		return
	}
	img, err := form.image("image")
	if err != nil {
		writeError(w, r, err)
		return
	}
	a, err := d.Bio.Analyze(img, biometric.Options{Label: "image", KeepImage: true})
	if err != nil {
		writeError(w, r, err)
		return
	}
	res := LivenessResult{Threshold: level.String(), RefID: w.Header().Get("X-Request-Id")}
	subject := signing.Subject{Role: "image", ImageSHA256: a.Digest}
	m := a.Measures
	res.Quality = QualityVerdict{Status: "OK", Failed: []string{}, Quality: a.Quality, Measure: &m}
	fail := func(check, why string) {
		res.Quality.Failed = append(res.Quality.Failed, check)
		res.Quality.Details = append(res.Quality.Details, why)
	}
	if a.Box.Height < livenessMinFace {
		fail("FACE_TOO_SMALL", fmt.Sprintf("face is %.0f px high, need %d", a.Box.Height, livenessMinFace))
	}
	if m.Truncation > 0.05 {
		fail("FACE_CUT_OFF", fmt.Sprintf("%.0f%% of the face is outside the image", 100*m.Truncation))
	}
	if m.LeftEyeOpen != nil && math.Min(*m.LeftEyeOpen, *m.RightEyeOpen) < 0.2 {
		fail("EYES_CLOSED", "eyes appear closed")
	}
	if m.Yaw != nil && (math.Abs(*m.Yaw) > livenessMaxYaw || math.Abs(*m.Pitch) > livenessMaxPitch) || math.Abs(m.Roll) > livenessMaxRoll {
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
		d.writeDecision(w, r, http.StatusOK, &res, subject)
		return
	}
	out, err := d.Liveness.Detector.Score(a.Image, a.ImageBox)
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	spoof := d.Liveness.Calibration.IsSpoof(out.Score, level)
	score := math.Round(out.Score*1e4) / 1e4
	p := math.Round(liveness.Sigmoid(out.Score)*1e4) / 1e4
	res.IsSpoof, res.Score, res.Probability, res.Models = &spoof, &score, &p, out.Models
	if l, ok := d.Liveness.Calibration.HighestLevel(out.Score); ok {
		s := l.String()
		res.HighestLevel = &s
	}
	d.writeDecision(w, r, http.StatusOK, &res, subject)
	d.emit(r.Context())(events.NewLivenessCompleted(tenant(r), events.LivenessData{Score: score, Live: !spoof, Level: level.String(), RefID: res.RefID}))
}
