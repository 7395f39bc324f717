package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/liveness"
)

// ChallengeResult is the result of an active liveness attempt: seed 000's
// getLivenessChallengeResult fields plus each challenge's outcome and the
// measures behind the verdict.
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
	// Claims bind a signed result to the tenant, the request and the
	// capture (docs/api.md, "Signed results").
	*signing.Claims
	Signature string `json:"signature,omitempty"`
}

func (c *ChallengeResult) setSignature(sig string) { c.Signature = sig }
func (c *ChallengeResult) bind(cl *signing.Claims) { c.Claims = cl }

// subjects are what a challenge result is about: the session's attempt
// (its serverRandom) and the capture judged, when there was one.
func (c *ChallengeResult) subjects() []signing.Subject {
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
	// (ActiveLiveness.ExposeChecks): they would help tune a spoof.
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

// Capture sources.
const (
	sourceMultipart = "multipart"
	sourceArchive   = "archive"
	sourceUpload    = "upload"
	sourceReplay    = "replay"
)

// identityFAR is the false-acceptance rate of the same-person check
// between the frames of one capture.
const identityFAR = 1e-3

// RecordingKey is where the capture of serverRandom is kept: under the
// session's prefix, so it is deleted with the session.
func RecordingKey(tenant, session, serverRandom string) string {
	return SessionPrefix(tenant, session) + "recording/" + serverRandom + ".zip"
}

func bestImageKey(tenant, session, serverRandom string) string {
	return SessionPrefix(tenant, session) + "liveness/" + serverRandom + "-best.jpg"
}

// livenessCapture takes a capture as multipart/form-data (metadata and
// frame parts) or as one application/zip container, and analyses it.
func (d *Deps) livenessCapture(w http.ResponseWriter, r *http.Request) {
	if !d.activeReady(w, r) {
		return
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		writeError(w, r, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be multipart/form-data or application/zip"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, d.Active.Limits.MaxTotalBytes+1<<20)
	var c *capture.Capture
	var raw []byte
	source := sourceArchive
	switch {
	case ct == "application/zip":
		raw, err = io.ReadAll(r.Body)
		if err != nil {
			writeError(w, r, bodyError(err))
			return
		}
		c, err = capture.Parse(raw, d.Active.Limits)
	case ct == "multipart/form-data" || ct == "multipart/mixed":
		if params["boundary"] == "" {
			writeError(w, r, biometric.Invalid("multipart body without a boundary"))
			return
		}
		source = sourceMultipart
		c, err = capture.ReadMultipart(multipart.NewReader(r.Body, params["boundary"]), d.Active.Limits)
		if err == nil {
			raw, err = rebuild(c)
		}
	default:
		writeError(w, r, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be multipart/form-data or application/zip"))
		return
	}
	if err != nil {
		writeError(w, r, captureError(err))
		return
	}
	res, err := d.submitCapture(r.Context(), submission{tenant: tenant(r), session: r.PathValue("id"), raw: raw, capture: c,
		source: source, refID: w.Header().Get("X-Request-Id")})
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v2/bio-sessions/"+res.BioSessionID+"/liveness-challenge-result/"+res.LivenessMode)
	d.writeDecision(w, r, http.StatusOK, res, res.subjects()...)
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

// captureError maps the capture package's errors to 4xx.
func captureError(err error) error {
	var be *biometric.Error
	switch {
	case errors.As(err, &be):
		return err
	case errors.Is(err, capture.ErrTooLarge):
		return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "capture: "+err.Error())
	case errors.Is(err, capture.ErrDecrypt):
		return errorf(http.StatusBadRequest, "DECRYPTION_FAILED", "the encrypted capture could not be decrypted for this bio-session and serverRandom")
	case errors.Is(err, capture.ErrInvalid):
		return biometric.Invalid("capture: %v", err)
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body is too large")
	}
	return bodyError(err)
}

// submission is one capture to judge.
type submission struct {
	tenant, session string
	raw             []byte // the container, kept as the recording
	capture         *capture.Capture
	source          string
	refID           string
	// at is when the capture arrived: the request's time, or the upload's
	// creation time (an event may be delivered late).
	at time.Time
}

// directSlack is how long after the challenge timeout a capture sent in a
// request may arrive (the client's upload time); a presigned upload gets
// UploadGrace.
const directSlack = 30 * time.Second

// submitCapture checks a capture against the session's liveness
// parameters, analyses it and stores the result, the best frame and the
// recording. Once the attempt is marked IN_PROGRESS it always ends with a
// stored result and a liveness.completed event, whatever fails.
func (d *Deps) submitCapture(ctx context.Context, sub submission) (res *ChallengeResult, err error) {
	t, sid, m := sub.tenant, sub.session, sub.capture.Manifest
	if m.SessionID != sid {
		return nil, errorf(http.StatusBadRequest, "WRONG_SESSION", "the capture was made for another bio-session")
	}
	if sub.at.IsZero() {
		sub.at = d.now()
	}
	digest := signing.Digest(sub.raw)
	var params LivenessParameters
	var mode string
	var imageStorage bool
	expired := false
	st, err := d.updateLiveness(ctx, t, sid, func(sess *store.Session, st *livenessState) (*livenessState, error) {
		if st == nil {
			return nil, errorf(http.StatusConflict, "NO_LIVENESS_PARAMETERS", "the bio-session has no liveness parameters: POST init-liveness-parameters first")
		}
		if err := checkFresh(st, m.ServerRandom); err != nil {
			return nil, err
		}
		next := *st
		next.Used = append(slices.Clone(st.Used), m.ServerRandom)
		params, mode, imageStorage = st.Params, st.Mode, sess.ImageStorage
		if sub.at.After(d.Active.deadline(st.Params, sub.source)) {
			expired = true
			diag := "the capture arrived after the liveness parameters expired"
			next.Status = string(challenge.StatusTimeout)
			next.Result = &ChallengeResult{LivenessStatus: next.Status, Diagnostic: &diag, LivenessMode: st.Mode,
				NumberOfChallenge: len(st.Params.Challenges), BioSessionID: sid, ServerRandom: m.ServerRandom, Source: sub.source, Completed: &sub.at,
				CaptureSHA256: digest}
			return &next, nil
		}
		next.Status, next.Started = StatusInProgress, d.now()
		return &next, nil
	})
	if err != nil {
		return nil, err
	}
	if expired {
		d.emitLiveness(ctx, t, st.Result)
		return nil, errorf(http.StatusBadRequest, "LIVENESS_EXPIRED", "the liveness parameters expired: init-liveness-parameters again")
	}
	done := false
	defer func() {
		if done {
			return
		}
		// Whatever stopped the analysis, the attempt ends as ERROR, even
		// when the request's context has ended.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		diag := "the capture could not be analysed"
		var be *biometric.Error
		if errors.As(err, &be) && be.Status < 500 {
			diag = be.Message
		}
		now := d.now()
		failed := &ChallengeResult{LivenessStatus: string(challenge.StatusError), Diagnostic: &diag, LivenessMode: mode,
			NumberOfChallenge: len(params.Challenges), BioSessionID: sid, ServerRandom: m.ServerRandom, Source: sub.source,
			RefID: sub.refID, Completed: &now, CaptureSHA256: digest}
		if _, uerr := d.finishLiveness(bg, t, sid, m.ServerRandom, failed, "", ""); uerr != nil {
			slog.WarnContext(bg, "liveness: recording the failed attempt", "session", sid, "err", uerr)
			return
		}
		d.emitLiveness(bg, t, failed)
	}()

	res, best, err := d.analyseCapture(ctx, sub.capture, params, mode, sid)
	if err != nil {
		return nil, err
	}
	res.Source, res.RefID, res.CaptureSHA256 = sub.source, sub.refID, digest
	rec := RecordingKey(t, sid, m.ServerRandom)
	if err = d.Blobs.Put(ctx, rec, sub.raw, "application/zip"); err != nil {
		return nil, internalErr(fmt.Errorf("store recording: %w", err))
	}
	bestKey := ""
	if best != nil {
		bestKey = bestImageKey(t, sid, m.ServerRandom)
		if err = d.Blobs.Put(ctx, bestKey, best.image, "image/jpeg"); err != nil {
			return nil, internalErr(fmt.Errorf("store best image: %w", err))
		}
		// Only a live capture's best frame becomes a face of the session:
		// a spoof's frame must not be matched against later.
		if res.LivenessStatus == string(challenge.StatusSuccess) {
			var faceID string
			if faceID, err = d.storeBestFrame(ctx, t, sid, best.analysis, best.image, imageStorage); err != nil {
				return nil, err
			}
			res.BestImageID = &faceID
		}
	}
	completed := d.now()
	res.Completed = &completed
	if _, err = d.finishLiveness(ctx, t, sid, m.ServerRandom, res, rec, bestKey); err != nil {
		if errors.Is(err, errSessionGone) {
			done = true // nothing left to record the error in
			_ = d.Blobs.DeletePrefix(context.WithoutCancel(ctx), SessionPrefix(t, sid))
		}
		return nil, err
	}
	done = true
	d.emitLiveness(ctx, t, res)
	return res, nil
}

// checkFresh refuses a capture whose serverRandom was already used or is
// not the session's current one.
func checkFresh(st *livenessState, serverRandom string) error {
	switch {
	case slices.Contains(st.Used, serverRandom):
		return errorf(http.StatusConflict, "REPLAYED", "a capture for this serverRandom was already submitted")
	case serverRandom != st.Params.ServerRandom:
		return errorf(http.StatusBadRequest, "WRONG_SERVER_RANDOM", "the capture's serverRandom is not the bio-session's current one")
	case st.Status != StatusInitialized:
		return errorf(http.StatusBadRequest, "LIVENESS_EXPIRED", "the liveness attempt is over: init-liveness-parameters again")
	}
	return nil
}

// deadline is the last moment a capture of source may arrive for p.
func (a *ActiveLiveness) deadline(p LivenessParameters, source string) time.Time {
	if source == sourceUpload {
		return p.Expires
	}
	end := p.Issued.Add(time.Duration(p.Timeout)*time.Millisecond + directSlack)
	if end.After(p.Expires) {
		return p.Expires
	}
	return end
}

var errSessionGone = errors.New("session deleted during the analysis")

// finishLiveness stores the result of the attempt for serverRandom, unless
// another attempt has replaced it meanwhile.
func (d *Deps) finishLiveness(ctx context.Context, t, sid, serverRandom string, res *ChallengeResult, recording, bestKey string) (*livenessState, error) {
	st, err := d.updateLiveness(ctx, t, sid, func(_ *store.Session, st *livenessState) (*livenessState, error) {
		if st == nil || st.Params.ServerRandom != serverRandom {
			return nil, errorf(http.StatusConflict, "CONFLICT", "the liveness parameters changed during the analysis")
		}
		next := *st
		next.Status, next.Result = res.LivenessStatus, res
		if recording != "" {
			next.Recording, next.BestImageKey = recording, bestKey
		}
		return &next, nil
	})
	var be *biometric.Error
	if errors.As(err, &be) && be.Status == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %w", errSessionGone, err)
	}
	return st, err
}

func (d *Deps) emitLiveness(ctx context.Context, t string, res *ChallengeResult) {
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
	d.emit(ctx)(events.NewLivenessCompleted(t, data))
}

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

// MaxAnalysedFrames bounds the frames one analysis measures: a longer
// capture is sampled evenly (first and last frames kept), so that a
// capture's analysis fits a function's time limit whatever its length.
const MaxAnalysedFrames = 60

// sampleFrames returns the indexes of at most max frames of n, evenly
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

// analyseCapture measures the frames and judges the challenges.
func (d *Deps) analyseCapture(ctx context.Context, c *capture.Capture, p LivenessParameters, mode, sid string) (*ChallengeResult, *bestFrame, error) {
	sampled := &capture.Capture{Manifest: c.Manifest}
	for _, i := range sampleFrames(len(c.Frames), MaxAnalysedFrames) {
		sampled.Frames = append(sampled.Frames, c.Frames[i])
	}
	c = sampled
	frames, err := d.measureFrames(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	level, err := liveness.ParseLevel(p.PassiveLevel)
	if err != nil {
		return nil, nil, internalErr(err)
	}
	liveThr, err := d.Liveness.Calibration.Threshold(level)
	if err != nil {
		return nil, nil, internalErr(err)
	}
	sameCos, err := d.Bio.CosineAt(identityFAR)
	if err != nil {
		return nil, nil, internalErr(err)
	}
	cfg := d.Active.Challenge
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
		n = d.Active.PassiveFrames
	}
	for _, i := range passiveFrames(obs, pre.BestFrame, n) {
		if err := d.scorePassive(c.Frames[i].Data, &obs[i]); err != nil {
			return nil, nil, err
		}
	}
	res := challenge.Analyze(p.Challenges, obs, cfg)
	out := &ChallengeResult{LivenessStatus: string(res.Status), LivenessMode: mode, NumberOfChallenge: len(p.Challenges),
		BioSessionID: sid, ServerRandom: p.ServerRandom}
	if res.Diagnostic != "" {
		diag := res.Diagnostic
		out.Diagnostic = &diag
	}
	for _, s := range res.Steps {
		sr := StepResult{Action: s.Action, Met: s.Met}
		if s.Met {
			ms := s.At.Milliseconds()
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
	if d.Active.ExposeChecks {
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
func (d *Deps) scorePassive(img []byte, o *challenge.Observation) error {
	a, err := d.Bio.Analyze(img, biometric.Options{Label: "frame", KeepImage: true})
	if err != nil {
		return err
	}
	r, err := d.Liveness.Detector.Score(a.Image, a.ImageBox)
	if err != nil {
		return internalErr(err)
	}
	o.Live = r.Score
	return nil
}

// measureFrames analyses every frame, in parallel.
func (d *Deps) measureFrames(ctx context.Context, c *capture.Capture) ([]frameResult, error) {
	out := make([]frameResult, len(c.Frames))
	errs := make([]error, len(c.Frames))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = d.measureFrame(c.Frames[i], i)
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

func (d *Deps) measureFrame(f capture.Frame, i int) (frameResult, error) {
	o := challenge.Observation{Time: f.Time, LeftEyeOpen: -1, RightEyeOpen: -1, Live: math.NaN()}
	a, err := d.Bio.Analyze(f.Data, biometric.Options{Label: fmt.Sprintf("frame %d", i), QualityMode: biometric.QualityDisabled})
	var be *biometric.Error
	if errors.As(err, &be) && be.Code == biometric.CodeFaceNotFound {
		return frameResult{obs: o}, nil
	}
	if err != nil {
		return frameResult{}, err
	}
	return frameResult{a: a, obs: Observe(a, f.Time)}, nil
}

// Observe turns a frame's analysis into the challenge package's
// observation. The pose model's yaw is negated: it is positive when the
// subject turns to their right, the challenge package's when they turn to
// their left (measured on LFW against the landmark geometry).
func Observe(a *biometric.Analysis, at time.Duration) challenge.Observation {
	m := a.Measures
	o := challenge.Observation{Time: at, Faces: a.FaceCount, Roll: m.Roll, LeftEyeOpen: -1, RightEyeOpen: -1,
		Live: math.NaN(), Quality: a.Quality, Embedding: a.Template.Vector}
	if m.Yaw != nil && m.Pitch != nil {
		o.Yaw, o.Pitch, o.PoseAvailable = -*m.Yaw, *m.Pitch, true
	}
	if m.LeftEyeOpen != nil && m.RightEyeOpen != nil {
		o.LeftEyeOpen, o.RightEyeOpen = *m.LeftEyeOpen, *m.RightEyeOpen
	}
	o.Landmarks = make([]geometry.Point, len(a.Points))
	for i, p := range a.Points {
		o.Landmarks[i] = geometry.Point{X: p.X, Y: p.Y}
	}
	return o
}

// storeBestFrame stores the best frame as a face of the session.
func (d *Deps) storeBestFrame(ctx context.Context, t, sid string, a *biometric.Analysis, img []byte, imageStorage bool) (string, error) {
	f := faceFromAnalysis(d.Bio, a, biometric.VideoFrame, FaceSpec{FriendlyName: "liveness best frame"}, d.now())
	tpl, err := a.Template.MarshalBinary()
	if err != nil {
		return "", internalErr(err)
	}
	saved, err := d.putSessionFace(ctx, t, sid, f, tpl, img, imageStorage)
	if err != nil {
		return "", err
	}
	return saved.ID, nil
}

// getChallengeResult returns the result of the session's last attempt.
// livenessMode must be the mode of its parameters (seed 000: the
// integrator names the mode it asked for, so a client cannot pass a weaker
// mode off as a stronger one).
func (d *Deps) getChallengeResult(w http.ResponseWriter, r *http.Request) {
	t, sid := tenant(r), r.PathValue("id")
	_, st, err := d.loadLiveness(r.Context(), t, sid)
	if err != nil {
		writeError(w, r, err)
		return
	}
	mode := strings.ToUpper(r.PathValue("livenessMode"))
	if mode != ModeMedium && mode != ModeHigh {
		writeError(w, r, biometric.Invalid("livenessMode %q must be %s or %s", r.PathValue("livenessMode"), ModeMedium, ModeHigh))
		return
	}
	if mode != st.Mode {
		writeError(w, r, errorf(http.StatusConflict, "LIVENESS_MODE_MISMATCH", fmt.Sprintf("the bio-session's liveness parameters are %s, not %s", st.Mode, mode)))
		return
	}
	res := d.settle(r.Context(), t, sid, st)
	d.writeDecision(w, r, http.StatusOK, &res, res.subjects()...)
}

// settle returns the current result; a TIMEOUT or an interrupted analysis
// seen for the first time is stored as the attempt's result and published
// (liveness.completed), since no process is left to do it.
func (d *Deps) settle(ctx context.Context, t, sid string, st *livenessState) ChallengeResult {
	res := d.currentResult(sid, st)
	if st.Result != nil || res.LivenessStatus == st.Status {
		return res
	}
	now := d.now()
	res.Completed = &now
	stored := res
	_, err := d.updateLiveness(ctx, t, sid, func(_ *store.Session, cur *livenessState) (*livenessState, error) {
		if cur == nil || cur.Result != nil || cur.Params.ServerRandom != st.Params.ServerRandom || cur.Status != st.Status {
			return nil, errNothingToDo
		}
		next := *cur
		next.Status, next.Result = stored.LivenessStatus, &stored
		return &next, nil
	})
	if err == nil {
		d.emitLiveness(ctx, t, &stored)
	} else if !errors.Is(err, errNothingToDo) {
		slog.WarnContext(ctx, "liveness: settling the attempt", "session", sid, "err", err)
	}
	return res
}

// currentResult is the stored result, or the pending state (TIMEOUT once
// the parameters expired without a capture).
func (d *Deps) currentResult(sid string, st *livenessState) ChallengeResult {
	if st.Result != nil {
		res := *st.Result
		res.Signature, res.Claims = "", nil
		return res
	}
	res := ChallengeResult{LivenessStatus: st.Status, LivenessMode: st.Mode, NumberOfChallenge: len(st.Params.Challenges),
		BioSessionID: sid, ServerRandom: st.Params.ServerRandom}
	if d.interrupted(st) {
		res.LivenessStatus = string(challenge.StatusError)
		diag := "the analysis was interrupted: init-liveness-parameters again"
		res.Diagnostic = &diag
	}
	if st.Status == StatusInitialized && d.now().After(st.Params.Expires) {
		res.LivenessStatus = string(challenge.StatusTimeout)
		diag := "no capture arrived before the liveness parameters expired"
		res.Diagnostic = &diag
	}
	return res
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

// LivenessUploadPrefix is the key prefix of capture uploads; the bucket
// notifies the liveness function of objects created under it.
const LivenessUploadPrefix = "liveness-uploads/"

// LivenessUploadKey is where the capture for serverRandom is uploaded.
func LivenessUploadKey(tenant, session, serverRandom string) string {
	return LivenessUploadPrefix + tenant + "/" + session + "/" + serverRandom + ".zip"
}

// createLivenessUpload returns a presigned URL for the capture container.
func (d *Deps) createLivenessUpload(w http.ResponseWriter, r *http.Request) {
	if !d.activeReady(w, r) {
		return
	}
	t, sid := tenant(r), r.PathValue("id")
	_, st, err := d.loadLiveness(r.Context(), t, sid)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if st.Status != StatusInitialized || slices.Contains(st.Used, st.Params.ServerRandom) {
		writeError(w, r, errorf(http.StatusConflict, "REPLAYED", "a capture for the current serverRandom was already submitted: init-liveness-parameters again"))
		return
	}
	now := d.now()
	ttl := min(d.Config.UploadTTL, st.Params.Expires.Sub(now))
	if ttl <= 0 {
		writeError(w, r, errorf(http.StatusBadRequest, "LIVENESS_EXPIRED", "the liveness parameters expired: init-liveness-parameters again"))
		return
	}
	key := LivenessUploadKey(t, sid, st.Params.ServerRandom)
	max := d.Active.Limits.MaxTotalBytes + 1<<20
	u, err := d.Blobs.PresignPut(r.Context(), key, "application/zip", max, ttl)
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	writeJSON(w, http.StatusCreated, CaptureUpload{Upload: Upload{URL: u, Method: http.MethodPut, Key: key,
		Headers: map[string]string{"Content-Type": "application/zip"}, MaxBytes: max, Expires: now.Add(ttl)},
		ContentType: "application/zip", ResultURL: "/v2/bio-sessions/" + sid + "/liveness-challenge-result/" + st.Mode})
}

// ProcessLivenessUpload analyses a capture container uploaded under
// LivenessUploadPrefix (the bucket's object-created event path); created
// is when the object was created (zero: now). The upload is deleted once
// it has a final outcome: analysed, or refused (too large, not a capture,
// not for the current attempt; a refusal of the current attempt is
// recorded as its ERROR result). A transient failure returns an error and
// keeps the upload, so that the event's retry finds it; a second delivery
// of the same event finds nothing and does nothing.
func (d *Deps) ProcessLivenessUpload(ctx context.Context, key string, created time.Time) error {
	t, sid, sr, ok := parseUploadKey(key)
	if !ok {
		slog.WarnContext(ctx, "liveness upload: not a capture upload key", "key", key)
		return nil
	}
	if d.Active == nil || d.Liveness == nil || d.Bio == nil {
		return errors.New("liveness upload: active liveness is not configured")
	}
	final := func() { _ = d.Blobs.Delete(context.WithoutCancel(ctx), key) }
	limit := d.Active.Limits.MaxTotalBytes + 1<<20
	if sz, ok := d.Blobs.(store.Sizer); ok {
		n, err := sz.Size(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil // already processed (events are delivered at least once)
		}
		if err != nil {
			return fmt.Errorf("liveness upload %s: %w", key, err)
		}
		if n > limit {
			final()
			return d.refuseUpload(ctx, t, sid, sr, fmt.Sprintf("the capture is larger than %d bytes", limit))
		}
	}
	raw, _, err := d.Blobs.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("liveness upload %s: %w", key, err)
	}
	if int64(len(raw)) > limit {
		final()
		return d.refuseUpload(ctx, t, sid, sr, fmt.Sprintf("the capture is larger than %d bytes", limit))
	}
	c, err := capture.Parse(raw, d.Active.Limits)
	if err == nil && c.Manifest.ServerRandom != sr {
		err = fmt.Errorf("%w: the container's serverRandom differs from the upload's", capture.ErrInvalid)
	}
	if err != nil {
		final()
		return d.refuseUpload(ctx, t, sid, sr, "not a valid capture: "+err.Error())
	}
	now := d.now()
	id := biometric.NewID()
	tx := fmt.Sprintf("W-face-%s-%s-%d", "liveness-challenge", id, now.UnixMilli())
	res, err := d.submitCapture(ctx, submission{tenant: t, session: sid, raw: raw, capture: c, source: sourceUpload, refID: tx, at: created})
	var be *biometric.Error
	switch {
	case err == nil:
		final()
		d.recordUsage(ctx, t, "liveness-challenge", tx, id, now, http.StatusOK)
		slog.InfoContext(ctx, "liveness upload analysed", "session", sid, "status", res.LivenessStatus, "tx", tx)
		return nil
	case errors.As(err, &be) && be.Status < 500:
		// A final answer: refused (replayed, expired, session gone) or the
		// attempt recorded as ERROR (a frame the decoder refused).
		final()
		d.recordUsage(ctx, t, "liveness-challenge", tx, id, now, be.Status)
		slog.WarnContext(ctx, "liveness upload refused", "key", key, "code", be.Code, "err", be.Message)
		return nil
	}
	// The attempt was recorded as ERROR by submitCapture when it had
	// started; the upload stays for the retry only if it had not.
	return fmt.Errorf("liveness upload %s: %w", key, err)
}

// refuseUpload records an unusable upload as the ERROR result of the
// attempt it was made for, when that attempt is still waiting for it.
func (d *Deps) refuseUpload(ctx context.Context, t, sid, sr, why string) error {
	slog.WarnContext(ctx, "liveness upload refused", "session", sid, "reason", why)
	now := d.now()
	var res *ChallengeResult
	_, err := d.updateLiveness(ctx, t, sid, func(_ *store.Session, st *livenessState) (*livenessState, error) {
		if st == nil || st.Params.ServerRandom != sr || checkFresh(st, sr) != nil {
			return nil, errNothingToDo
		}
		next := *st
		next.Used = append(slices.Clone(st.Used), sr)
		res = &ChallengeResult{LivenessStatus: string(challenge.StatusError), Diagnostic: &why, LivenessMode: st.Mode,
			NumberOfChallenge: len(st.Params.Challenges), BioSessionID: sid, ServerRandom: sr, Source: sourceUpload, Completed: &now}
		next.Status, next.Result = res.LivenessStatus, res
		return &next, nil
	})
	var be *biometric.Error
	switch {
	case errors.Is(err, errNothingToDo), errors.As(err, &be) && be.Status < 500:
		return nil
	case err != nil:
		return fmt.Errorf("liveness upload: record the refusal: %w", err)
	}
	d.emitLiveness(ctx, t, res)
	return nil
}

var errNothingToDo = errors.New("nothing to do")

func parseUploadKey(key string) (tenant, session, serverRandom string, ok bool) {
	rest, ok := strings.CutPrefix(key, LivenessUploadPrefix)
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || !strings.HasSuffix(parts[2], ".zip") {
		return "", "", "", false
	}
	sr := strings.TrimSuffix(parts[2], ".zip")
	if parts[0] == "" || parts[1] == "" || sr == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], sr, true
}

// ReplayStatus is the answer of GET .../replay-liveness-metadata (seed
// 000's ReplayLivenessResponse), with the best face's id.
type ReplayStatus struct {
	Status      string  `json:"status"`
	Diagnostic  *string `json:"diagnostic,omitempty"`
	BestImageID *string `json:"bestImageId,omitempty"`
	// Image is the best frame (JPEG, base64).
	Image string `json:"image,omitempty"`
	// Claims bind a signed status to the tenant, the request and the
	// capture, as a challenge result's.
	*signing.Claims
	Signature string `json:"signature,omitempty"`
}

func (s *ReplayStatus) setSignature(sig string) { s.Signature = sig }
func (s *ReplayStatus) bind(c *signing.Claims)  { s.Claims = c }

// Bounds of the replay form's small parts.
const (
	maxMasterSecret = 1024
	maxDeviceInfo   = 4 << 10
)

// replayLivenessMetadata takes an encrypted capture (seed 000's
// replayLivenessMetadata): decrypts it with the session's capture key and
// analyses it.
func (d *Deps) replayLivenessMetadata(w http.ResponseWriter, r *http.Request) {
	if !d.activeReady(w, r) {
		return
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(ct, "multipart/") || params["boundary"] == "" {
		writeError(w, r, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "Content-Type must be multipart/form-data or multipart/mixed"))
		return
	}
	limit := d.Active.Limits.MaxTotalBytes + 1<<20
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	parts := map[string][]byte{}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, r, captureError(err))
			return
		}
		name := p.FormName()
		var max int64
		switch name {
		case "encryptedMetaData":
			max = limit
		case "encryptedMasterSecret":
			max = maxMasterSecret
		case "livenessDeviceInfo":
			max = maxDeviceInfo
		default:
			writeError(w, r, biometric.Invalid("unexpected part %q: expected encryptedMetaData, encryptedMasterSecret and livenessDeviceInfo", name))
			return
		}
		if _, dup := parts[name]; dup {
			writeError(w, r, biometric.Invalid("part %q appears twice", name))
			return
		}
		b, err := io.ReadAll(io.LimitReader(p, max+1))
		if err != nil {
			writeError(w, r, captureError(err))
			return
		}
		if int64(len(b)) > max {
			writeError(w, r, errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("part %s is larger than %d bytes", name, max)))
			return
		}
		parts[name] = b
	}
	if len(parts["encryptedMetaData"]) == 0 || len(parts["encryptedMasterSecret"]) == 0 {
		writeError(w, r, biometric.Invalid("encryptedMetaData and encryptedMasterSecret are required"))
		return
	}
	if di, ok := parts["livenessDeviceInfo"]; ok && len(di) > 0 {
		var v map[string]any
		if json.Unmarshal(di, &v) != nil {
			writeError(w, r, biometric.Invalid("livenessDeviceInfo is not a JSON object"))
			return
		}
	}
	t, sid := tenant(r), r.PathValue("id")
	_, st, err := d.loadLiveness(r.Context(), t, sid)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// Refuse a spent attempt before any decryption work.
	if err := checkFresh(st, st.Params.ServerRandom); err != nil {
		writeError(w, r, err)
		return
	}
	key, err := d.openCaptureKey(r.Context(), t, sid, st)
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	// The payload is bound to the session and to the CURRENT serverRandom;
	// one made for an earlier attempt does not decrypt.
	raw, err := capture.Open(key, sid, st.Params.ServerRandom, parts["encryptedMetaData"], parts["encryptedMasterSecret"])
	if err != nil {
		writeError(w, r, captureError(err))
		return
	}
	c, err := capture.Parse(raw, d.Active.Limits)
	if err != nil {
		writeError(w, r, captureError(err))
		return
	}
	res, err := d.submitCapture(r.Context(), submission{tenant: t, session: sid, raw: raw, capture: c,
		source: sourceReplay, refID: w.Header().Get("X-Request-Id")})
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v2/bio-sessions/"+sid+"/replay-liveness-metadata")
	out := ReplayStatus{Status: res.LivenessStatus, Diagnostic: res.Diagnostic, BestImageID: res.BestImageID}
	d.writeDecision(w, r, http.StatusCreated, &out, res.subjects()...)
}

// getReplayStatus returns the status of the session's attempt and its best
// image.
func (d *Deps) getReplayStatus(w http.ResponseWriter, r *http.Request) {
	t, sid := tenant(r), r.PathValue("id")
	_, st, err := d.loadLiveness(r.Context(), t, sid)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res := d.settle(r.Context(), t, sid, st)
	out := ReplayStatus{Status: res.LivenessStatus, Diagnostic: res.Diagnostic, BestImageID: res.BestImageID}
	if st.BestImageKey != "" && st.Result != nil {
		img, _, err := d.Blobs.Get(r.Context(), st.BestImageKey)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			writeError(w, r, internalErr(err))
			return
		}
		if err == nil {
			out.Image = base64.StdEncoding.EncodeToString(img)
		}
	}
	d.writeDecision(w, r, http.StatusOK, &out, res.subjects()...)
}

// Recording is the answer of GET .../recording: a presigned URL of the
// last capture's container.
type Recording struct {
	URL          string    `json:"url"`
	ContentType  string    `json:"contentType"`
	Expires      time.Time `json:"expires"`
	ServerRandom string    `json:"serverRandom"`
}

// getRecording returns a presigned URL of the session's recording.
func (d *Deps) getRecording(w http.ResponseWriter, r *http.Request) {
	t, sid := tenant(r), r.PathValue("id")
	_, st, err := d.loadLiveness(r.Context(), t, sid)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if st.Recording == "" {
		writeError(w, r, errorf(http.StatusNotFound, CodeNotFound, "the bio-session has no recording"))
		return
	}
	ttl := d.Config.UploadTTL
	u, err := d.Blobs.PresignGet(r.Context(), st.Recording, ttl)
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	writeJSON(w, http.StatusOK, Recording{URL: u, ContentType: "application/zip", Expires: d.now().Add(ttl),
		ServerRandom: strings.TrimSuffix(st.Recording[strings.LastIndex(st.Recording, "/")+1:], ".zip")})
}
