package httpapi

import (
	"net/http"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/core/signing"
	passive "github.com/facelambda/facelambda/internal/ml/liveness"
)

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
	rt.handle("POST", "/v2/bio-sessions/{id}/client-token", auth.ScopeLiveness, d.createClientToken)
	// The browser capture client (package web): public, it holds no secret.
	rt.handle("GET", "/web/{file}", "", d.webFile)
	return rt
}

// LivenessResult is the answer of POST /v2/liveness: the judgement,
// signed and bound to the request and the image.
type LivenessResult struct {
	*liveness.Judgement
	*signing.Claims
	Signature string `json:"signature,omitempty"`
}

func (l *LivenessResult) SetSignature(sig string) { l.Signature = sig }
func (l *LivenessResult) Bind(c *signing.Claims)  { l.Claims = c }

func (d *Deps) passiveLiveness(w http.ResponseWriter, r *http.Request) {
	svc := d.LivenessService()
	if err := svc.PassiveReady(); err != nil {
		WriteError(w, r, err)
		return
	}
	form, err := readForm(w, r, "image")
	if err == nil {
		err = form.only(fieldsOf(nil, "image", "threshold"))
	}
	if err != nil {
		WriteError(w, r, err)
		return
	}
	level, err := liveness.ParseThreshold(form.fields["threshold"])
	if err != nil {
		WriteError(w, r, err)
		return
	}
	img, err := form.image("image")
	if err != nil {
		WriteError(w, r, err)
		return
	}
	res, subject, err := svc.Judge(r.Context(), tenant(r), img, level, w.Header().Get("X-Request-Id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	d.writeDecision(w, r, http.StatusOK, &LivenessResult{Judgement: res}, subject)
}

func livenessCapabilities() LivenessCapabilities {
	lo, hi := liveness.TimeoutBounds()
	c := LivenessCapabilities{SecurityLevels: liveness.SecurityLevels(), Modes: []string{liveness.ModeMedium, liveness.ModeHigh},
		Challenges: challenge.Actions, MaxChallenges: challenge.MaxChallenges, MaxFrames: capture.DefaultLimits().MaxFrames,
		SecureCapture:   "RSA-OAEP-256 + A256GCM (facelambda-capture-v1)",
		TimeoutMsBounds: [2]int64{lo.Milliseconds(), hi.Milliseconds()}}
	for _, l := range passive.Levels {
		c.PassiveLevels = append(c.PassiveLevels, l.String())
	}
	return c
}
