package webhook

import (
	"slices"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/events"
)

// Webhook is a registration, as the API shows it: never its secrets nor
// the value of its custom auth header.
type Webhook struct {
	ID     string   `json:"webhookId"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// AuthHeaderKey names a header sent with every delivery, with the
	// registered value (kept encrypted, not shown).
	AuthHeaderKey      string `json:"authHeaderKey,omitempty"`
	EncryptMessageBody bool   `json:"encryptMessageBody"`
	AddSignatureHeader bool   `json:"addSignatureHeader"`
	Enabled            bool   `json:"enabled"`
	// DisabledReason says why deliveries disabled the webhook (a 410).
	DisabledReason string    `json:"disabledReason,omitempty"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
	// PreviousSecretExpires is when the last secret replaced by a
	// rotation stops signing, while it still does.
	PreviousSecretExpires *time.Time `json:"previousSecretExpires,omitempty"`
}

// subscribes reports whether the webhook wants events of type typ.
func (w Webhook) subscribes(typ string) bool {
	return typ != events.WebhookTest && (slices.Contains(w.Events, typ) || slices.Contains(w.Events, AllEvents))
}

// CreateInput is a new registration (POST /v2/webhooks). Nil booleans
// take their defaults: encryptMessageBody true and addSignatureHeader true
// (as in seed 003), enabled true.
type CreateInput struct {
	URL                string   `json:"url"`
	Events             []string `json:"events"`
	AuthHeaderKey      string   `json:"authHeaderKey"`
	AuthHeaderValue    string   `json:"authHeaderValue"`
	EncryptMessageBody *bool    `json:"encryptMessageBody"`
	AddSignatureHeader *bool    `json:"addSignatureHeader"`
	Enabled            *bool    `json:"enabled"`
}

// UpdateInput changes a registration (PUT /v2/webhooks/{id}): nil fields
// are kept. AuthHeaderKey "" removes the custom header. GenerateNewSecret
// rotates the secret (see Registry.Rotate). Enabled true re-enables a
// webhook a 410 disabled.
type UpdateInput struct {
	URL                *string   `json:"url"`
	Events             *[]string `json:"events"`
	AuthHeaderKey      *string   `json:"authHeaderKey"`
	AuthHeaderValue    *string   `json:"authHeaderValue"`
	EncryptMessageBody *bool     `json:"encryptMessageBody"`
	AddSignatureHeader *bool     `json:"addSignatureHeader"`
	Enabled            *bool     `json:"enabled"`
	GenerateNewSecret  bool      `json:"generateNewSecret"`
}

// checkEvents validates and deduplicates a subscription list.
func checkEvents(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, invalid("events is required: a list of event types, or [\"*\"] for all (%s)", strings.Join(events.Types, ", "))
	}
	if len(in) > MaxEvents {
		return nil, invalid("at most %d events", MaxEvents)
	}
	out := make([]string, 0, len(in))
	for _, e := range in {
		if e != AllEvents && !events.Subscribable(e) {
			return nil, invalid("unknown event type %q (one of %s, or \"*\")", e, strings.Join(events.Types, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// reservedHeaders cannot be the custom auth header.
var reservedHeaders = []string{
	"content-type", "content-length", "content-encoding", "transfer-encoding", "host",
	"connection", "keep-alive", "upgrade", "te", "trailer", "expect", "user-agent",
	HeaderID, HeaderTimestamp, HeaderSignature,
}

func checkAuthHeader(key, value string) error {
	if key == "" {
		if value != "" {
			return invalid("authHeaderValue without authHeaderKey")
		}
		return nil
	}
	if value == "" {
		return invalid("authHeaderKey without authHeaderValue")
	}
	if len(key) > maxAuthHeaderKey {
		return invalid("authHeaderKey longer than %d bytes", maxAuthHeaderKey)
	}
	for i := range len(key) {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return invalid("authHeaderKey is not a header name")
		}
	}
	lk := strings.ToLower(key)
	if slices.Contains(reservedHeaders, lk) || strings.HasPrefix(lk, "proxy-") || strings.HasPrefix(lk, "webhook-") {
		return invalid("authHeaderKey %q is reserved", key)
	}
	if len(value) > maxAuthHeaderValue {
		return invalid("authHeaderValue longer than %d bytes", maxAuthHeaderValue)
	}
	for i := range len(value) {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return invalid("authHeaderValue contains a control character")
		}
	}
	return nil
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}
