package liveness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/uid"
)

// UploadPrefix is the key prefix of capture uploads; the bucket notifies
// the liveness function of objects created under it.
const UploadPrefix = "liveness-uploads/"

// UploadKey is where the capture for serverRandom is uploaded.
func UploadKey(tenant, session, serverRandom string) string {
	return UploadPrefix + tenant + "/" + session + "/" + serverRandom + ".zip"
}

// UploadSlot is a presigned PUT of a capture container. The analysis
// starts when the object lands in the bucket (ProcessUpload).
type UploadSlot struct {
	Key      string
	URL      string
	MaxBytes int64
	Expires  time.Time
	// Mode is the attempt's liveness mode (the result's path segment).
	Mode string
}

// CreateUpload returns a presigned URL for the capture container of the
// session's current attempt.
func (s *Service) CreateUpload(ctx context.Context, t, sid string, ttl time.Duration) (*UploadSlot, error) {
	if err := s.ActiveReady(); err != nil {
		return nil, err
	}
	_, st, err := s.load(ctx, t, sid)
	if err != nil {
		return nil, err
	}
	if st.Status != StatusInitialized || slices.Contains(st.Used, st.Params.ServerRandom) {
		return nil, fault.New(fault.CodeReplayed, "a capture for the current serverRandom was already submitted: init-liveness-parameters again")
	}
	now := s.now()
	ttl = min(ttl, st.Params.Expires.Sub(now))
	if ttl <= 0 {
		return nil, fault.New(fault.CodeLivenessExpired, "the liveness parameters expired: init-liveness-parameters again")
	}
	key := UploadKey(t, sid, st.Params.ServerRandom)
	limit := s.MaxCaptureBytes()
	u, err := s.blobs.PresignPut(ctx, key, "application/zip", limit, ttl)
	if err != nil {
		return nil, err
	}
	return &UploadSlot{Key: key, URL: u, MaxBytes: limit, Expires: now.Add(ttl), Mode: st.Mode}, nil
}

// ProcessUpload analyses a capture container uploaded under UploadPrefix
// (the bucket's object-created event path); created is when the object
// was created (zero: now). The upload is deleted once it has a final
// outcome: analysed, or refused (too large, not a capture, not for the
// current attempt; a refusal of the current attempt is recorded as its
// ERROR result). A transient failure returns an error and keeps the
// upload, so that the event's retry finds it; a second delivery of the
// same event finds nothing and does nothing.
func (s *Service) ProcessUpload(ctx context.Context, key string, created time.Time) error {
	t, sid, sr, ok := parseUploadKey(key)
	if !ok {
		slog.WarnContext(ctx, "liveness upload: not a capture upload key", "key", key)
		return nil
	}
	if s.ActiveReady() != nil {
		return errors.New("liveness upload: active liveness is not configured")
	}
	final := func() { _ = s.blobs.Delete(context.WithoutCancel(ctx), key) }
	limit := s.MaxCaptureBytes()
	if sz, ok := s.blobs.(store.Sizer); ok {
		n, err := sz.Size(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil // already processed (events are delivered at least once)
		}
		if err != nil {
			return fmt.Errorf("liveness upload %s: %w", key, err)
		}
		if n > limit {
			final()
			return s.refuseUpload(ctx, t, sid, sr, fmt.Sprintf("the capture is larger than %d bytes", limit))
		}
	}
	raw, _, err := s.blobs.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("liveness upload %s: %w", key, err)
	}
	if int64(len(raw)) > limit {
		final()
		return s.refuseUpload(ctx, t, sid, sr, fmt.Sprintf("the capture is larger than %d bytes", limit))
	}
	c, err := capture.Parse(raw, s.active.Limits)
	if err == nil && c.Manifest.ServerRandom != sr {
		err = fmt.Errorf("%w: the container's serverRandom differs from the upload's", capture.ErrInvalid)
	}
	if err != nil {
		final()
		return s.refuseUpload(ctx, t, sid, sr, "not a valid capture: "+err.Error())
	}
	now := s.now()
	id := uid.New()
	const action = "liveness-challenge"
	tx := fmt.Sprintf("W-face-%s-%s-%d", action, id, now.UnixMilli())
	res, err := s.Capture(ctx, Submission{Tenant: t, Session: sid, Raw: raw, Capture: c, Source: SourceUpload, RefID: tx, At: created})
	if err == nil {
		final()
		s.usage(ctx, t, action, tx, id, now, nil)
		slog.InfoContext(ctx, "liveness upload analysed", "session", sid, "status", res.LivenessStatus, "tx", tx)
		return nil
	}
	if code, msg, ok := refused(err); ok {
		// A final answer: refused (replayed, expired, session gone) or the
		// attempt recorded as ERROR (a frame the decoder refused).
		final()
		s.usage(ctx, t, action, tx, id, now, err)
		slog.WarnContext(ctx, "liveness upload refused", "key", key, "code", code, "err", msg)
		return nil
	}
	// The attempt was recorded as ERROR by Capture when it had started;
	// the upload stays for the retry only if it had not.
	return fmt.Errorf("liveness upload %s: %w", key, err)
}

func (s *Service) usage(ctx context.Context, t, action, tx, id string, at time.Time, err error) {
	if s.deps.Usage != nil {
		s.deps.Usage(ctx, t, action, tx, id, at, err)
	}
}

// refuseUpload records an unusable upload as the ERROR result of the
// attempt it was made for, when that attempt is still waiting for it.
func (s *Service) refuseUpload(ctx context.Context, t, sid, sr, why string) error {
	slog.WarnContext(ctx, "liveness upload refused", "session", sid, "reason", why)
	now := s.now()
	var res *ChallengeResult
	_, err := s.update(ctx, t, sid, func(_ *store.Session, st *state) (*state, error) {
		if st == nil || st.Params.ServerRandom != sr || checkFresh(st, sr) != nil {
			return nil, errNothingToDo
		}
		next := *st
		next.Used = append(slices.Clone(st.Used), sr)
		res = &ChallengeResult{LivenessStatus: string(challenge.StatusError), Diagnostic: &why, LivenessMode: st.Mode,
			NumberOfChallenge: len(st.Params.Challenges), BioSessionID: sid, ServerRandom: sr, Source: SourceUpload, Completed: &now}
		next.Status, next.Result = res.LivenessStatus, res
		return &next, nil
	})
	if _, _, isRefusal := refused(err); errors.Is(err, errNothingToDo) || isRefusal {
		return nil
	}
	if err != nil {
		return fmt.Errorf("liveness upload: record the refusal: %w", err)
	}
	s.emitCompleted(ctx, t, res)
	return nil
}

func parseUploadKey(key string) (tenant, session, serverRandom string, ok bool) {
	rest, ok := strings.CutPrefix(key, UploadPrefix)
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
