package liveness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
)

// Capture sources.
const (
	SourceMultipart = "multipart"
	SourceArchive   = "archive"
	SourceUpload    = "upload"
	SourceReplay    = "replay"
)

// RecordingKey is where the capture of serverRandom is kept: under the
// session's prefix, so it is deleted with the session.
func (s *Service) RecordingKey(tenant, session, serverRandom string) string {
	return s.deps.SessionPrefix(tenant, session) + "recording/" + serverRandom + ".zip"
}

func (s *Service) bestImageKey(tenant, session, serverRandom string) string {
	return s.deps.SessionPrefix(tenant, session) + "liveness/" + serverRandom + "-best.jpg"
}

// Submission is one capture to judge.
type Submission struct {
	Tenant, Session string
	// Raw is the container, kept as the recording.
	Raw     []byte
	Capture *capture.Capture
	Source  string
	RefID   string
	// At is when the capture arrived: the request's time (zero: now), or
	// the upload's creation time (an event may be delivered late).
	At time.Time
}

// directSlack is how long after the challenge timeout a capture sent in a
// request may arrive (the client's upload time); a presigned upload gets
// UploadGrace.
const directSlack = 30 * time.Second

// Capture checks a capture against the session's liveness parameters,
// analyses it and stores the result, the best frame and the recording.
// Once the attempt is marked IN_PROGRESS it always ends with a stored
// result and a liveness.completed event, whatever fails.
func (s *Service) Capture(ctx context.Context, sub Submission) (res *ChallengeResult, err error) {
	if err := s.ActiveReady(); err != nil {
		return nil, err
	}
	t, sid, m := sub.Tenant, sub.Session, sub.Capture.Manifest
	if m.SessionID != sid {
		return nil, fault.New(fault.CodeWrongSession, "the capture was made for another bio-session")
	}
	if sub.At.IsZero() {
		sub.At = s.now()
	}
	digest := signing.Digest(sub.Raw)
	var params Parameters
	var mode string
	var imageStorage bool
	expired := false
	st, err := s.update(ctx, t, sid, func(sess *store.Session, st *state) (*state, error) {
		if st == nil {
			return nil, fault.New(fault.CodeNoLivenessParameters, noParameters)
		}
		if err := checkFresh(st, m.ServerRandom); err != nil {
			return nil, err
		}
		next := *st
		next.Used = append(slices.Clone(st.Used), m.ServerRandom)
		params, mode, imageStorage = st.Params, st.Mode, sess.ImageStorage
		if sub.At.After(s.active.deadline(st.Params, sub.Source)) {
			expired = true
			diag := "the capture arrived after the liveness parameters expired"
			next.Status = string(challenge.StatusTimeout)
			next.Result = &ChallengeResult{LivenessStatus: next.Status, Diagnostic: &diag, LivenessMode: st.Mode,
				NumberOfChallenge: len(st.Params.Challenges), BioSessionID: sid, ServerRandom: m.ServerRandom, Source: sub.Source, Completed: &sub.At,
				CaptureSHA256: digest}
			return &next, nil
		}
		next.Status, next.Started = StatusInProgress, s.now()
		return &next, nil
	})
	if err != nil {
		return nil, err
	}
	if expired {
		s.emitCompleted(ctx, t, st.Result)
		return nil, fault.New(fault.CodeLivenessExpired, "the liveness parameters expired: init-liveness-parameters again")
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
		if _, msg, ok := refused(err); ok {
			diag = msg
		}
		now := s.now()
		failed := &ChallengeResult{LivenessStatus: string(challenge.StatusError), Diagnostic: &diag, LivenessMode: mode,
			NumberOfChallenge: len(params.Challenges), BioSessionID: sid, ServerRandom: m.ServerRandom, Source: sub.Source,
			RefID: sub.RefID, Completed: &now, CaptureSHA256: digest}
		if _, uerr := s.finish(bg, t, sid, m.ServerRandom, failed, "", ""); uerr != nil {
			slog.WarnContext(bg, "liveness: recording the failed attempt", "session", sid, "err", uerr)
			return
		}
		s.emitCompleted(bg, t, failed)
	}()

	res, best, err := s.analyse(ctx, sub.Capture, params, mode, sid)
	if err != nil {
		return nil, err
	}
	res.Source, res.RefID, res.CaptureSHA256 = sub.Source, sub.RefID, digest
	rec := s.RecordingKey(t, sid, m.ServerRandom)
	if err = s.blobs.Put(ctx, rec, sub.Raw, "application/zip"); err != nil {
		return nil, fmt.Errorf("store recording: %w", err)
	}
	bestKey := ""
	if best != nil {
		bestKey = s.bestImageKey(t, sid, m.ServerRandom)
		if err = s.blobs.Put(ctx, bestKey, best.image, "image/jpeg"); err != nil {
			return nil, fmt.Errorf("store best image: %w", err)
		}
		// Only a live capture's best frame becomes a face of the session:
		// a spoof's frame must not be matched against later.
		if res.LivenessStatus == string(challenge.StatusSuccess) {
			var faceID string
			if faceID, err = s.deps.BestFrame(ctx, t, sid, best.analysis, best.image, imageStorage); err != nil {
				return nil, err
			}
			res.BestImageID = &faceID
		}
	}
	completed := s.now()
	res.Completed = &completed
	if _, err = s.finish(ctx, t, sid, m.ServerRandom, res, rec, bestKey); err != nil {
		if errors.Is(err, errSessionGone) {
			done = true // nothing left to record the error in
			_ = s.blobs.DeletePrefix(context.WithoutCancel(ctx), s.deps.SessionPrefix(t, sid))
		}
		return nil, err
	}
	done = true
	s.emitCompleted(ctx, t, res)
	return res, nil
}

// checkFresh refuses a capture whose serverRandom was already used or is
// not the session's current one.
func checkFresh(st *state, serverRandom string) error {
	switch {
	case slices.Contains(st.Used, serverRandom):
		return fault.New(fault.CodeReplayed, "a capture for this serverRandom was already submitted")
	case serverRandom != st.Params.ServerRandom:
		return fault.New(fault.CodeWrongServerRandom, "the capture's serverRandom is not the bio-session's current one")
	case st.Status != StatusInitialized:
		return fault.New(fault.CodeLivenessExpired, "the liveness attempt is over: init-liveness-parameters again")
	}
	return nil
}

// deadline is the last moment a capture of source may arrive for p.
func (a *Active) deadline(p Parameters, source string) time.Time {
	if source == SourceUpload {
		return p.Expires
	}
	end := p.Issued.Add(time.Duration(p.Timeout)*time.Millisecond + directSlack)
	if end.After(p.Expires) {
		return p.Expires
	}
	return end
}
