package httpapi

import (
	"context"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/webhook"
)

// Deps are what the handlers need; functions build them at init.
type Deps struct {
	// Bio runs the face pipeline; nil in functions that need no models.
	Bio *biometric.Service
	// Encoder is the template encoder id (capabilities); defaults to Bio's.
	Encoder string
	Records store.Records
	Blobs   store.Blobs
	Signer  *signing.Signer
	// Signers published in the JWKS (the current one first); nil means Signer alone.
	Signers []*signing.Signer
	Keys    auth.KeyStore
	// Tokens issues and verifies session-scoped client tokens (nil: none).
	Tokens *auth.Tokens
	// Enroll serves templates of class ids (enroll function).
	Enroll *enroll.Service
	// Classes stores templates and galleries (enroll function).
	Classes store.Classes
	// Galleries identifies probes in galleries (enroll function).
	Galleries Identifier
	// Webhooks and Dispatcher serve the webhook registration API; Events
	// receives domain events (nil: none are published).
	Webhooks   *webhook.Registry
	Dispatcher *webhook.Dispatcher
	Events     events.Publisher
	// Usage stores usage records of billable calls (nil: none).
	Usage store.Items
	// Liveness judges presentation attacks (liveness function).
	Liveness *Liveness
	// Active configures active (challenge) liveness in bio-sessions
	// (liveness function; nil: not served).
	Active *ActiveLiveness
	Config Config
	// Gate bounds concurrent image work (the local server; nil: no bound).
	Gate *Gate
	// ModelsReady runs a tiny inference to prove the models answer (monitor).
	ModelsReady func(ctx context.Context) error
	Now         func() time.Time
}

// Config holds the service's tunables.
type Config struct {
	DefaultTTL time.Duration // bio-session time-to-live when none is asked (default 5 min)
	MaxTTL     time.Duration // largest ttlSeconds accepted (default 24 h)
	Version    string        // service version reported by capabilities
	// AllowHTTPCallbacks accepts http:// callback URLs (local mode only).
	AllowHTTPCallbacks bool
	// UploadTTL is how long a presigned upload URL stays valid (default 15 min).
	UploadTTL time.Duration
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

func (d *Deps) defaults() {
	if d.Encoder == "" && d.Bio != nil {
		d.Encoder = d.Bio.Encoder()
	}
	if d.Config.DefaultTTL == 0 {
		d.Config.DefaultTTL = 5 * time.Minute
	}
	if d.Config.MaxTTL == 0 {
		d.Config.MaxTTL = 24 * time.Hour
	}
	if d.Config.UploadTTL == 0 {
		d.Config.UploadTTL = 15 * time.Minute
	}
	if d.Config.Version == "" {
		d.Config.Version = "0.2.0"
	}
}
