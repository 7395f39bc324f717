package liveness

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
)

// ReplayStatus is the answer of GET .../replay-liveness-metadata (seed
// 000's ReplayLivenessResponse), with the best face's id. The transport
// adds the signature.
type ReplayStatus struct {
	Status      string  `json:"status"`
	Diagnostic  *string `json:"diagnostic,omitempty"`
	BestImageID *string `json:"bestImageId,omitempty"`
	// Image is the best frame (JPEG, base64).
	Image string `json:"image,omitempty"`
}

// Replay is an encrypted capture (seed 000's replayLivenessMetadata).
type Replay struct {
	Tenant, Session string
	// Metadata is the encrypted capture container, MasterSecret its key
	// sealed for the session's capture key.
	Metadata, MasterSecret []byte
	RefID                  string
}

// SubmitReplay decrypts an encrypted capture with the session's capture
// key and analyses it. A spent attempt is refused before any decryption.
func (s *Service) SubmitReplay(ctx context.Context, rp Replay) (*ChallengeResult, error) {
	if err := s.ActiveReady(); err != nil {
		return nil, err
	}
	t, sid := rp.Tenant, rp.Session
	_, st, err := s.load(ctx, t, sid)
	if err != nil {
		return nil, err
	}
	if err := checkFresh(st, st.Params.ServerRandom); err != nil {
		return nil, err
	}
	key, err := s.openCaptureKey(ctx, t, sid, st)
	if err != nil {
		return nil, err
	}
	// The payload is bound to the session and to the CURRENT serverRandom;
	// one made for an earlier attempt does not decrypt.
	raw, err := capture.Open(key, sid, st.Params.ServerRandom, rp.Metadata, rp.MasterSecret)
	if err != nil {
		return nil, captureRefusal(err)
	}
	c, err := capture.Parse(raw, s.active.Limits)
	if err != nil {
		return nil, captureRefusal(err)
	}
	return s.Capture(ctx, Submission{Tenant: t, Session: sid, Raw: raw, Capture: c, Source: SourceReplay, RefID: rp.RefID})
}

// captureRefusal maps a capture error; an unknown one stays internal.
func captureRefusal(err error) error {
	mapped, _ := CaptureError(err)
	return mapped
}

// ReplayResult returns the status of the session's attempt (settled as
// Result does), the best frame's face and image, and what a signature of
// it is about.
func (s *Service) ReplayResult(ctx context.Context, t, sid string) (*ReplayStatus, *ChallengeResult, error) {
	_, st, err := s.load(ctx, t, sid)
	if err != nil {
		return nil, nil, err
	}
	res := s.settle(ctx, t, sid, st)
	out := &ReplayStatus{Status: res.LivenessStatus, Diagnostic: res.Diagnostic, BestImageID: res.BestImageID}
	if st.BestImageKey != "" && st.Result != nil {
		img, _, err := s.blobs.Get(ctx, st.BestImageKey)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
		if err == nil {
			out.Image = base64.StdEncoding.EncodeToString(img)
		}
	}
	return out, &res, nil
}

// Recording is a presigned URL of the last capture's container.
type Recording struct {
	URL          string    `json:"url"`
	ContentType  string    `json:"contentType"`
	Expires      time.Time `json:"expires"`
	ServerRandom string    `json:"serverRandom"`
}

// Recording returns a presigned URL, valid for ttl, of the session's last
// recorded capture.
func (s *Service) Recording(ctx context.Context, t, sid string, ttl time.Duration) (*Recording, error) {
	_, st, err := s.load(ctx, t, sid)
	if err != nil {
		return nil, err
	}
	if st.Recording == "" {
		return nil, fault.New(fault.CodeNotFound, "the bio-session has no recording")
	}
	u, err := s.blobs.PresignGet(ctx, st.Recording, ttl)
	if err != nil {
		return nil, err
	}
	return &Recording{URL: u, ContentType: "application/zip", Expires: s.now().Add(ttl),
		ServerRandom: strings.TrimSuffix(st.Recording[strings.LastIndex(st.Recording, "/")+1:], ".zip")}, nil
}
