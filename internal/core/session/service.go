// Package session holds the use cases of bio-sessions and what lives in
// them: sessions (created with a time-to-live and a callback URL), faces
// (from an image, an uploaded image or a face JSON), presigned uploads,
// and matches (1:1 of images or a template against an image, 1:few among
// the faces of a session) with what their signatures bind. It knows no
// HTTP: the transport parses requests, calls a Service and writes what it
// returns.
package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/uid"
	"github.com/facelambda/facelambda/internal/core/webhook"
)

// Service runs the session, face and match use cases of one tenant's
// calls (the tenant is an argument of every method).
type Service struct {
	Records store.Records
	Blobs   store.Blobs
	// Bio runs the face pipeline (faces and matches; nil for sessions).
	Bio *biometric.Service
	// Signer signs resources and decisions (nil: nothing is signed).
	Signer *signing.Signer
	// Keys are the keys a face JSON's signature is verified against.
	Keys signing.JWKS
	// Events receives domain events (nil: none are published).
	Events events.Publisher
	// Callbacks is the URL policy of session callbacks.
	Callbacks webhook.Policy
	// DefaultTTL and MaxTTL bound a session's time-to-live.
	DefaultTTL, MaxTTL time.Duration
	// UploadTTL is how long a presigned upload URL stays valid.
	UploadTTL time.Duration
	// MaxImageBytes is the largest image an upload may hold.
	MaxImageBytes int
	Now           func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// emit returns a function that publishes the event an events constructor
// made (events.Emit).
func (s *Service) emit(ctx context.Context) func(events.Event, error) {
	return func(ev events.Event, err error) { events.Emit(ctx, s.Events, ev, err) }
}

// storeError maps a store error: not found (or another tenant's) is
// NOT_FOUND naming what, anything else is internal (wrapped as is).
func storeError(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.Newf(fault.CodeNotFound, "%s not found", what)
	}
	return err
}

// Session is the bio-session resource.
type Session struct {
	ID                  string    `json:"id"`
	CorrelationID       *string   `json:"correlationId"`
	ImageStorageEnabled bool      `json:"imageStorageEnabled"`
	CallbackURL         *string   `json:"callbackURL,omitempty"`
	TTLSeconds          int64     `json:"ttlSeconds"`
	Created             time.Time `json:"created"`
	Expires             time.Time `json:"expires"`
	Signature           string    `json:"signature,omitempty"`
}

// SetSignature sets the resource's signature (signing.Signable).
func (s *Session) SetSignature(sig string) { s.Signature = sig }

// CreateInput is what a new session asks for.
type CreateInput struct {
	CorrelationID       string
	ImageStorageEnabled bool
	// TTLSeconds is the time-to-live (nil: DefaultTTL).
	TTLSeconds  *int64
	CallbackURL string
}

// Create stores a new session and returns it signed.
func (s *Service) Create(ctx context.Context, tenant string, in CreateInput) (*Session, error) {
	ttl := s.DefaultTTL
	if in.TTLSeconds != nil {
		maxTTL := int64(s.MaxTTL / time.Second)
		if *in.TTLSeconds <= 0 {
			return nil, fault.Invalid("ttlSeconds must be positive")
		}
		if *in.TTLSeconds > maxTTL {
			return nil, fault.Invalid("ttlSeconds %d exceeds the maximum of %d", *in.TTLSeconds, maxTTL)
		}
		ttl = time.Duration(*in.TTLSeconds) * time.Second
	}
	if in.CallbackURL != "" {
		if err := s.checkCallback(in.CallbackURL); err != nil {
			return nil, err
		}
	}
	now := s.now()
	rec := store.Session{Tenant: tenant, ID: uid.New(), CorrelationID: in.CorrelationID,
		ImageStorage: in.ImageStorageEnabled, CallbackURL: in.CallbackURL, Created: now, Expires: now.Add(ttl)}
	if err := s.Records.CreateSession(ctx, rec); err != nil {
		return nil, storeError(err, "bio-session")
	}
	s.emit(ctx)(events.NewSessionCreated(tenant, events.SessionData{SessionID: rec.ID, CorrelationID: rec.CorrelationID}))
	out := resourceOf(rec)
	return out, s.Signer.SignInto(out)
}

// checkCallback applies the webhook SSRF rules to a session's callbackURL
// when it is registered (they apply again when a delivery connects).
func (s *Service) checkCallback(raw string) error {
	if _, err := s.Callbacks.CheckURL(raw); err != nil {
		msg := strings.TrimPrefix(err.Error(), webhook.ErrInvalid.Error()+": ")
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "url: "), "url ")
		return fault.OnField(fault.CodeInvalidRequest, "callbackURL", "callbackURL: %s", msg)
	}
	return nil
}

func resourceOf(s store.Session) *Session {
	return &Session{ID: s.ID, CorrelationID: nilIfEmpty(s.CorrelationID), ImageStorageEnabled: s.ImageStorage,
		CallbackURL: nilIfEmpty(s.CallbackURL), TTLSeconds: int64(s.Expires.Sub(s.Created) / time.Second),
		Created: s.Created.UTC(), Expires: s.Expires.UTC()}
}

// Open returns a live session's record (what the faces of it depend on).
func (s *Service) Open(ctx context.Context, tenant, id string) (store.Session, error) {
	rec, err := s.Records.GetSession(ctx, tenant, id)
	if err != nil {
		return rec, storeError(err, "bio-session")
	}
	return rec, nil
}

// Get returns a live session, signed.
func (s *Service) Get(ctx context.Context, tenant, id string) (*Session, error) {
	rec, err := s.Open(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	out := resourceOf(rec)
	return out, s.Signer.SignInto(out)
}

// Delete removes a session, its faces and its images.
func (s *Service) Delete(ctx context.Context, tenant, id string) error {
	if _, err := s.Open(ctx, tenant, id); err != nil {
		return err
	}
	if err := s.Records.DeleteSession(ctx, tenant, id); err != nil {
		return storeError(err, "bio-session")
	}
	if err := s.Blobs.DeletePrefix(ctx, store.SessionBlobPrefix(tenant, id)); err != nil {
		return fmt.Errorf("delete session images: %w", err)
	}
	s.emit(ctx)(events.NewSessionDeleted(tenant, events.SessionData{SessionID: id}))
	return nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
