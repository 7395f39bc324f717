// Package events defines the domain events of the service and how they are
// published: to an SQS queue in AWS (SQS), or to an in-process worker pool
// in the local server (Local). The webhook package consumes them.
//
// An event is {id, type, created, tenant, data}. Data holds identifiers,
// scores and decisions only, never an image or a template: build events
// with the constructors of this package (SessionCreated, MatchCompleted,
// ...), whose data types have no field that could hold either.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/facelambda/facelambda/internal/core/uid"
)

// Event types.
const (
	SessionCreated          = "session.created"
	SessionDeleted          = "session.deleted"
	FaceCreated             = "face.created"
	MatchCompleted          = "match.completed"
	LivenessCompleted       = "liveness.completed"
	EnrollmentCompleted     = "enrollment.completed"
	EnrollmentFailed        = "enrollment.failed"
	VerificationCompleted   = "verification.completed"
	IdentificationCompleted = "identification.completed"
	TemplateDeleted         = "template.deleted"

	// WebhookTest is the ping sent by POST /v2/webhooks/{id}/test: it goes
	// to one webhook, whatever its subscriptions, and cannot be
	// subscribed to.
	WebhookTest = "webhook.test"
)

// Types lists the event types a webhook can subscribe to, in a stable
// order (WebhookTest is not one).
var Types = []string{
	SessionCreated, SessionDeleted, FaceCreated, MatchCompleted, LivenessCompleted,
	EnrollmentCompleted, EnrollmentFailed, VerificationCompleted, IdentificationCompleted,
	TemplateDeleted,
}

// Subscribable reports whether typ is one of Types.
func Subscribable(typ string) bool { return slices.Contains(Types, typ) }

// Known reports whether typ is an event type (one of Types, or WebhookTest).
func Known(typ string) bool { return typ == WebhookTest || Subscribable(typ) }

// Event is a domain event.
type Event struct {
	// ID is unique per event ("evt_" and 32 hex digits); webhook
	// deliveries send it as the webhook-id header, the same on every
	// attempt, so receivers can drop duplicates.
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Created time.Time       `json:"created"`
	Tenant  string          `json:"tenant"`
	Data    json.RawMessage `json:"data"`
}

// MaxIDLen is the longest event id Validate accepts.
const MaxIDLen = 64

// ErrInvalid reports an event that is not one.
var ErrInvalid = errors.New("invalid event")

// Validate checks an event read from a queue or built by hand: an id of
// [A-Za-z0-9_-] (at most MaxIDLen), a known type, a tenant, a creation
// time and JSON data (an object, or null).
func (e Event) Validate() error {
	switch {
	case e.ID == "" || len(e.ID) > MaxIDLen || !idChars(e.ID):
		return fmt.Errorf("%w: id %q", ErrInvalid, e.ID)
	case !Known(e.Type):
		return fmt.Errorf("%w: unknown type %q", ErrInvalid, e.Type)
	case e.Tenant == "" || len(e.Tenant) > 256:
		return fmt.Errorf("%w: tenant %q", ErrInvalid, e.Tenant)
	case e.Created.IsZero():
		return fmt.Errorf("%w: no creation time", ErrInvalid)
	case len(e.Data) > 0 && !json.Valid(e.Data):
		return fmt.Errorf("%w: data is not JSON", ErrInvalid)
	}
	return nil
}

func idChars(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NewID returns a new event id: "evt_" and 32 random hex digits.
func NewID() string { return "evt_" + uid.Hex(16) }

// Now is the clock of the constructors (time.Now by default; tests may
// replace it).
var Now = time.Now

// New returns an event of a type with data marshalled to JSON. Prefer the
// typed constructors, whose data cannot carry an image or a template.
func New(tenant, typ string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: marshal data: %w", typ, err)
	}
	ev := Event{ID: NewID(), Type: typ, Created: Now().UTC().Truncate(time.Millisecond), Tenant: tenant, Data: raw}
	if err := ev.Validate(); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// Publisher publishes events. Publish returns once the event is queued
// (not delivered); an error means it was not.
type Publisher interface {
	Publish(ctx context.Context, ev Event) error
}

// Data of the events. Identifiers, scores and decisions only.

// SessionData is the data of session.created and session.deleted.
type SessionData struct {
	SessionID     string `json:"sessionId"`
	CorrelationID string `json:"correlationId,omitempty"`
}

// FaceData is the data of face.created (SessionID is empty for a face
// that belongs to no session).
type FaceData struct {
	SessionID string   `json:"sessionId,omitempty"`
	FaceID    string   `json:"faceId"`
	Quality   *float64 `json:"quality,omitempty"`
	RefID     string   `json:"refid,omitempty"`
}

// MatchData is the data of match.completed: the faces (ids) compared, the
// score, its false acceptance rate, and the decision when a level was
// asked for.
type MatchData struct {
	SessionID           string  `json:"sessionId,omitempty"`
	ReferenceFaceID     string  `json:"referenceFaceId,omitempty"`
	CandidateFaceID     string  `json:"candidateFaceId,omitempty"`
	Score               float64 `json:"score"`
	FalseAcceptanceRate float64 `json:"falseAcceptanceRate"`
	Level               string  `json:"level,omitempty"`
	PossibleMatch       *bool   `json:"possibleMatch,omitempty"`
	RefID               string  `json:"refid,omitempty"`
}

// LivenessData is the data of liveness.completed (also sent to the
// session's callbackURL).
type LivenessData struct {
	SessionID string  `json:"sessionId"`
	FaceID    string  `json:"faceId,omitempty"`
	Score     float64 `json:"score"`
	Live      bool    `json:"live"`
	Level     string  `json:"level,omitempty"`
	RefID     string  `json:"refid,omitempty"`
	// Active liveness in a bio-session: the challenge result's status
	// (SUCCESS, FAILED, SPOOF, ERROR, TIMEOUT), diagnostic and mode.
	LivenessStatus string `json:"livenessStatus,omitempty"`
	Diagnostic     string `json:"diagnostic,omitempty"`
	LivenessMode   string `json:"livenessMode,omitempty"`
}

// EnrollmentData is the data of enrollment.completed and
// enrollment.failed (ErrorCode and Message say why it failed).
type EnrollmentData struct {
	ClassID   uint64 `json:"classId"`
	Templates int    `json:"templates,omitempty"`
	ErrorCode string `json:"errorCode,omitempty"`
	Message   string `json:"message,omitempty"`
	RefID     string `json:"refid,omitempty"`
}

// VerificationData is the data of verification.completed (1:1 against an
// enrolled class).
type VerificationData struct {
	ClassID             uint64  `json:"classId"`
	Score               float64 `json:"score"`
	FalseAcceptanceRate float64 `json:"falseAcceptanceRate"`
	Level               string  `json:"level,omitempty"`
	PossibleMatch       *bool   `json:"possibleMatch,omitempty"`
	RefID               string  `json:"refid,omitempty"`
}

// Candidate is one candidate of an identification.
type Candidate struct {
	ClassID             uint64  `json:"classId"`
	Score               float64 `json:"score"`
	FalseAcceptanceRate float64 `json:"falseAcceptanceRate"`
}

// IdentificationData is the data of identification.completed (1:N in a
// gallery).
type IdentificationData struct {
	Gallery    string      `json:"gallery"`
	Candidates []Candidate `json:"candidates"`
	RefID      string      `json:"refid,omitempty"`
}

// TemplateData is the data of template.deleted.
type TemplateData struct {
	ClassID uint64 `json:"classId"`
	RefID   string `json:"refid,omitempty"`
}

// PingData is the data of webhook.test.
type PingData struct {
	WebhookID string `json:"webhookId"`
	Message   string `json:"message"`
}

// Constructors. Each fails only when a score is NaN or infinite (JSON has
// no such numbers).

func NewSessionCreated(tenant string, d SessionData) (Event, error) {
	return New(tenant, SessionCreated, d)
}

func NewSessionDeleted(tenant string, d SessionData) (Event, error) {
	return New(tenant, SessionDeleted, d)
}

func NewFaceCreated(tenant string, d FaceData) (Event, error) { return New(tenant, FaceCreated, d) }

func NewMatchCompleted(tenant string, d MatchData) (Event, error) {
	return New(tenant, MatchCompleted, d)
}

func NewLivenessCompleted(tenant string, d LivenessData) (Event, error) {
	return New(tenant, LivenessCompleted, d)
}

func NewEnrollmentCompleted(tenant string, d EnrollmentData) (Event, error) {
	return New(tenant, EnrollmentCompleted, d)
}

func NewEnrollmentFailed(tenant string, d EnrollmentData) (Event, error) {
	return New(tenant, EnrollmentFailed, d)
}

func NewVerificationCompleted(tenant string, d VerificationData) (Event, error) {
	return New(tenant, VerificationCompleted, d)
}

func NewIdentificationCompleted(tenant string, d IdentificationData) (Event, error) {
	if d.Candidates == nil {
		d.Candidates = []Candidate{}
	}
	return New(tenant, IdentificationCompleted, d)
}

func NewTemplateDeleted(tenant string, d TemplateData) (Event, error) {
	return New(tenant, TemplateDeleted, d)
}

// NewPing returns the webhook.test event of a webhook.
func NewPing(tenant, webhookID string) (Event, error) {
	return New(tenant, WebhookTest, PingData{WebhookID: webhookID, Message: "ping from facelambda"})
}
