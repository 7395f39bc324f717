package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/core/signing"
)

// The active liveness endpoints: each parses the request, calls the
// liveness service (core/liveness) and answers.

// ActiveLiveness configures active (challenge) liveness in bio-sessions.
type ActiveLiveness = liveness.Active

// Liveness is the passive liveness detector with its level calibration.
type Liveness = liveness.Passive

// LivenessService returns the liveness use cases over d's stores and
// models; the bucket's upload events call its ProcessUpload.
func (d *Deps) LivenessService() *liveness.Service {
	return liveness.New(liveness.Deps{Records: d.Records, Blobs: d.Blobs, Bio: d.Bio, Passive: d.Liveness, Active: d.Active,
		Signer: d.Signer, Now: d.Now, SessionPrefix: SessionPrefix,
		Emit:      func(ctx context.Context, ev events.Event, err error) { d.emit(ctx)(ev, err) },
		BestFrame: d.storeBestFrame,
		Usage: func(ctx context.Context, t, action, tx, id string, at time.Time, err error) {
			d.recordUsage(ctx, t, action, tx, id, at, statusOf(err))
		}})
}

// statusOf is the status an outcome is answered with (nil: 200).
func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	be := fault.As(err)
	if be == nil {
		return http.StatusInternalServerError
	}
	return StatusOf(be)
}

// Signed answers: the service's results with the signature (and, for a
// decision, the claims binding it to the request).
type (
	signedParameters struct {
		*liveness.Parameters
		Signature string `json:"signature,omitempty"`
	}
	signedChallengeResult struct {
		*liveness.ChallengeResult
		*signing.Claims
		Signature string `json:"signature,omitempty"`
	}
	signedReplayStatus struct {
		*liveness.ReplayStatus
		*signing.Claims
		Signature string `json:"signature,omitempty"`
	}
)

func (p *signedParameters) SetSignature(sig string)      { p.Signature = sig }
func (c *signedChallengeResult) SetSignature(sig string) { c.Signature = sig }
func (c *signedChallengeResult) Bind(cl *signing.Claims) { c.Claims = cl }
func (s *signedReplayStatus) SetSignature(sig string)    { s.Signature = sig }
func (s *signedReplayStatus) Bind(c *signing.Claims)     { s.Claims = c }

func (d *Deps) activeReady(w http.ResponseWriter, r *http.Request, svc *liveness.Service) bool {
	if err := svc.ActiveReady(); err != nil {
		WriteError(w, r, err)
		return false
	}
	return true
}

func (d *Deps) initLivenessParameters(w http.ResponseWriter, r *http.Request) {
	svc := d.LivenessService()
	if !d.activeReady(w, r, svc) {
		return
	}
	var req liveness.ParametersRequest
	if err := readJSON(w, r, 64<<10, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	if pr, _ := auth.FromContext(r.Context()); pr.Token != nil {
		var err error
		if req, err = liveness.PinnedRequest(pr.Token.Liveness, req); err != nil {
			WriteError(w, r, err)
			return
		}
	}
	p, err := svc.InitParameters(r.Context(), tenant(r), r.PathValue("id"), req)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	d.writeSigned(w, r, http.StatusOK, &signedParameters{Parameters: p})
}

func (d *Deps) getLivenessParameters(w http.ResponseWriter, r *http.Request) {
	p, err := d.LivenessService().Parameters(r.Context(), tenant(r), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	d.writeSigned(w, r, http.StatusOK, &signedParameters{Parameters: p})
}

var errCaptureMedia = fault.New(fault.CodeUnsupportedMedia, "Content-Type must be multipart/form-data or application/zip")

// livenessCapture takes a capture as multipart/form-data (metadata and
// frame parts) or as one application/zip container, and analyses it.
func (d *Deps) livenessCapture(w http.ResponseWriter, r *http.Request) {
	svc := d.LivenessService()
	if !d.activeReady(w, r, svc) {
		return
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		WriteError(w, r, errCaptureMedia)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, svc.MaxCaptureBytes())
	var c *capture.Capture
	var raw []byte
	source := liveness.SourceArchive
	switch {
	case ct == "application/zip":
		raw, err = io.ReadAll(r.Body)
		if err != nil {
			WriteError(w, r, bodyError(err))
			return
		}
		c, err = capture.Parse(raw, svc.Limits())
	case ct == "multipart/form-data" || ct == "multipart/mixed":
		if params["boundary"] == "" {
			WriteError(w, r, fault.Invalid("multipart body without a boundary"))
			return
		}
		source = liveness.SourceMultipart
		c, err = capture.ReadMultipart(multipart.NewReader(r.Body, params["boundary"]), svc.Limits())
		if err == nil {
			raw, err = rebuild(c)
		}
	default:
		WriteError(w, r, errCaptureMedia)
		return
	}
	if err != nil {
		WriteError(w, r, captureError(err))
		return
	}
	res, err := svc.Capture(r.Context(), liveness.Submission{Tenant: tenant(r), Session: r.PathValue("id"), Raw: raw, Capture: c,
		Source: source, RefID: w.Header().Get("X-Request-Id")})
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v2/bio-sessions/"+res.BioSessionID+"/liveness-challenge-result/"+res.LivenessMode)
	d.writeDecision(w, r, http.StatusOK, &signedChallengeResult{ChallengeResult: res}, res.Subjects()...)
}

// rebuild makes the container of a capture that came as multipart, so that
// every capture is recorded in one format.
func rebuild(c *capture.Capture) ([]byte, error) {
	frames := make([][]byte, len(c.Frames))
	for i, f := range c.Frames {
		frames[i] = f.Data
	}
	return capture.Build(c.Manifest, frames)
}

// captureError maps the capture package's errors (and a body over its
// limit) to 4xx.
func captureError(err error) error {
	if mapped, ok := liveness.CaptureError(err); ok {
		return mapped
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fault.New(fault.CodeRequestTooLarge, "request body is too large")
	}
	return bodyError(err)
}

// storeBestFrame stores a live capture's best frame as a face of the
// session.
func (d *Deps) storeBestFrame(ctx context.Context, t, sid string, a *biometric.Analysis, img []byte, imageStorage bool) (string, error) {
	f := faceFromAnalysis(d.Bio, a, biometric.VideoFrame, FaceSpec{FriendlyName: "liveness best frame"}, d.now())
	tpl, err := a.Template.MarshalBinary()
	if err != nil {
		return "", fault.Internal("", err)
	}
	saved, err := d.putSessionFace(ctx, t, sid, f, tpl, img, imageStorage)
	if err != nil {
		return "", err
	}
	return saved.ID, nil
}

// getChallengeResult returns the result of the session's last attempt.
func (d *Deps) getChallengeResult(w http.ResponseWriter, r *http.Request) {
	res, err := d.LivenessService().Result(r.Context(), tenant(r), r.PathValue("id"), r.PathValue("livenessMode"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	d.writeDecision(w, r, http.StatusOK, &signedChallengeResult{ChallengeResult: res}, res.Subjects()...)
}

// CaptureUpload is the answer of POST .../liveness-uploads: an Upload slot
// for the capture container. The analysis starts when the object lands in
// the bucket (S3 event).
type CaptureUpload struct {
	Upload
	ContentType string `json:"contentType"`
	// ResultURL is where the result appears once analysed.
	ResultURL string `json:"resultUrl"`
}

// createLivenessUpload returns a presigned URL for the capture container.
func (d *Deps) createLivenessUpload(w http.ResponseWriter, r *http.Request) {
	svc := d.LivenessService()
	if !d.activeReady(w, r, svc) {
		return
	}
	sid := r.PathValue("id")
	u, err := svc.CreateUpload(r.Context(), tenant(r), sid, d.Config.UploadTTL)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, CaptureUpload{Upload: Upload{URL: u.URL, Method: http.MethodPut, Key: u.Key,
		Headers: map[string]string{"Content-Type": "application/zip"}, MaxBytes: u.MaxBytes, Expires: u.Expires},
		ContentType: "application/zip", ResultURL: "/v2/bio-sessions/" + sid + "/liveness-challenge-result/" + u.Mode})
}
