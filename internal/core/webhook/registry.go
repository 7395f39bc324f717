package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/uid"
)

// Item kinds of the package in store.Items.
const (
	KindWebhook  = "webhook"
	KindDelivery = "delivery"
)

// Limits of registrations.
const (
	// MaxWebhooks is the most webhooks a tenant may register.
	MaxWebhooks = 100
	// MaxEvents is the most entries of a webhook's events.
	MaxEvents = 32
	// SecretOverlap is how long a replaced secret keeps signing.
	SecretOverlap = 24 * time.Hour
	// maxSecrets bounds the secrets kept (the current one and those still
	// in their overlap after several rotations in a day).
	maxSecrets = 5
	// AllEvents subscribes to every event type.
	AllEvents = "*"
	// maxAuthHeaderKey and maxAuthHeaderValue bound the custom header.
	maxAuthHeaderKey   = 128
	maxAuthHeaderValue = 4096
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

// record is a registration as stored (JSON in a store.Item of kind
// "webhook"): the Webhook and its sealed secrets.
type record struct {
	Webhook
	Tenant string `json:"tenant"`
	// Sealed holds the secrets and the auth header value (sealedSecrets),
	// encrypted with AES-256-GCM under a data key wrapped by the
	// SecretKey, with the tenant and webhook id as additional data.
	Sealed sealedBox `json:"sealed"`
}

type sealedBox struct {
	// Key is the wrapped data key.
	Key []byte `json:"key"`
	// Box is nonce || ciphertext || tag.
	Box []byte `json:"box"`
}

// sealedSecrets is the plaintext of record.Sealed.
type sealedSecrets struct {
	// Secrets are newest first; Expires is zero for the current one.
	Secrets         []secretEntry `json:"secrets"`
	AuthHeaderValue string        `json:"authHeaderValue,omitempty"`
}

type secretEntry struct {
	Secret  string    `json:"secret"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

// active returns the secrets that sign at now, newest first.
func (s sealedSecrets) active(now time.Time) []string {
	var out []string
	for _, e := range s.Secrets {
		if e.Expires.IsZero() || now.Before(e.Expires) {
			out = append(out, e.Secret)
		}
	}
	return out
}

// Registry stores webhook registrations in store.Items.
//
// Updates are read-modify-write without a condition: of two concurrent
// updates of one webhook, the last wins.
type Registry struct {
	items  store.Items
	keys   SecretKey
	policy Policy
	// Now is the clock (time.Now by default): secret overlaps and
	// timestamps.
	Now func() time.Time
}

// NewRegistry returns a registry. policy validates URLs (AllowHTTP in the
// local server).
func NewRegistry(items store.Items, keys SecretKey, policy Policy) *Registry {
	return &Registry{items: items, keys: keys, policy: policy, Now: time.Now}
}

// Policy returns the registry's URL policy.
func (r *Registry) Policy() Policy { return r.policy }

func (r *Registry) now() time.Time {
	if r.Now == nil {
		return time.Now().UTC()
	}
	return r.Now().UTC()
}

func newWebhookID() string { return uid.Hex(16) }

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

// Create registers a webhook and returns it with its secret, which is
// shown only here (and by rotations).
func (r *Registry) Create(ctx context.Context, tenant string, in CreateInput) (Webhook, string, error) {
	u, err := r.policy.CheckURL(in.URL)
	if err != nil {
		return Webhook{}, "", err
	}
	evs, err := checkEvents(in.Events)
	if err != nil {
		return Webhook{}, "", err
	}
	if err := checkAuthHeader(in.AuthHeaderKey, in.AuthHeaderValue); err != nil {
		return Webhook{}, "", err
	}
	existing, err := r.items.ListItems(ctx, tenant, KindWebhook, "", "", MaxWebhooks)
	if err != nil {
		return Webhook{}, "", fmt.Errorf("create webhook: %w", err)
	}
	if len(existing) >= MaxWebhooks {
		return Webhook{}, "", invalid("a tenant may register at most %d webhooks", MaxWebhooks)
	}
	now := r.now()
	rec := record{
		Webhook: Webhook{
			ID:                 newWebhookID(),
			URL:                u.String(),
			Events:             evs,
			AuthHeaderKey:      in.AuthHeaderKey,
			EncryptMessageBody: boolOr(in.EncryptMessageBody, true),
			AddSignatureHeader: boolOr(in.AddSignatureHeader, true),
			Enabled:            boolOr(in.Enabled, true),
			Created:            now,
			Updated:            now,
		},
		Tenant: tenant,
	}
	secret := NewSecret()
	sec := sealedSecrets{Secrets: []secretEntry{{Secret: secret, Created: now}}, AuthHeaderValue: in.AuthHeaderValue}
	if err := r.save(ctx, &rec, &sec); err != nil {
		return Webhook{}, "", fmt.Errorf("create webhook: %w", err)
	}
	return rec.Webhook, secret, nil
}

// save seals sec into rec (when sec is not nil) and stores rec.
func (r *Registry) save(ctx context.Context, rec *record, sec *sealedSecrets) error {
	if sec != nil {
		rec.PreviousSecretExpires = nil
		for _, e := range sec.Secrets {
			if !e.Expires.IsZero() {
				t := e.Expires
				rec.PreviousSecretExpires = &t
				break
			}
		}
		plain, err := json.Marshal(sec)
		if err != nil {
			return err
		}
		dk, wrapped, err := r.keys.NewDataKey(ctx, rec.Tenant, rec.ID)
		if err != nil {
			return err
		}
		box, err := envelope.Seal(dk, plain, aad("secrets", rec.Tenant, rec.ID))
		if err != nil {
			return err
		}
		rec.Sealed = sealedBox{Key: wrapped, Box: box}
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return r.items.PutItem(ctx, store.Item{Tenant: rec.Tenant, Kind: KindWebhook, ID: rec.ID, Data: data, Created: rec.Created})
}

// load returns a stored registration.
func (r *Registry) load(ctx context.Context, tenant, id string) (record, error) {
	it, err := r.items.GetItem(ctx, tenant, KindWebhook, id)
	if err != nil {
		return record{}, fmt.Errorf("webhook %s: %w", id, err)
	}
	var rec record
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return record{}, fmt.Errorf("webhook %s: unmarshal: %w", id, err)
	}
	rec.Tenant = tenant
	return rec, nil
}

// open decrypts a registration's secrets.
func (r *Registry) open(ctx context.Context, rec record) (sealedSecrets, error) {
	dk, err := r.keys.DataKey(ctx, rec.Tenant, rec.ID, rec.Sealed.Key)
	if err != nil {
		return sealedSecrets{}, fmt.Errorf("webhook %s secrets: %w", rec.ID, err)
	}
	plain, err := envelope.Open(dk, rec.Sealed.Box, aad("secrets", rec.Tenant, rec.ID))
	if err != nil {
		return sealedSecrets{}, fmt.Errorf("webhook %s secrets: %w", rec.ID, err)
	}
	var sec sealedSecrets
	if err := json.Unmarshal(plain, &sec); err != nil {
		return sealedSecrets{}, fmt.Errorf("webhook %s secrets: %w", rec.ID, err)
	}
	return sec, nil
}

// Get returns a registration (store.ErrNotFound when there is none).
func (r *Registry) Get(ctx context.Context, tenant, id string) (Webhook, error) {
	rec, err := r.load(ctx, tenant, id)
	if err != nil {
		return Webhook{}, err
	}
	return r.view(rec), nil
}

// view is the Webhook of a record at now (PreviousSecretExpires dropped
// once passed).
func (r *Registry) view(rec record) Webhook {
	w := rec.Webhook
	if w.PreviousSecretExpires != nil && !r.now().Before(*w.PreviousSecretExpires) {
		w.PreviousSecretExpires = nil
	}
	if w.Events == nil {
		w.Events = []string{}
	}
	return w
}

// List returns a tenant's registrations, by id.
func (r *Registry) List(ctx context.Context, tenant string) ([]Webhook, error) {
	recs, err := r.list(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, len(recs))
	for i, rec := range recs {
		out[i] = r.view(rec)
	}
	return out, nil
}

func (r *Registry) list(ctx context.Context, tenant string) ([]record, error) {
	items, err := r.items.ListItems(ctx, tenant, KindWebhook, "", "", MaxWebhooks)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	out := make([]record, 0, len(items))
	for _, it := range items {
		var rec record
		if err := json.Unmarshal(it.Data, &rec); err != nil {
			return nil, fmt.Errorf("list webhooks: %s: unmarshal: %w", it.ID, err)
		}
		rec.Tenant = tenant
		out = append(out, rec)
	}
	return out, nil
}

// Subscribed returns the enabled registrations of a tenant subscribed to
// an event type.
func (r *Registry) Subscribed(ctx context.Context, tenant, eventType string) ([]Webhook, error) {
	recs, err := r.list(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []Webhook
	for _, rec := range recs {
		if rec.Enabled && rec.subscribes(eventType) {
			out = append(out, r.view(rec))
		}
	}
	return out, nil
}

// Update changes a registration and returns it, with the new secret when
// in.GenerateNewSecret ("" otherwise).
func (r *Registry) Update(ctx context.Context, tenant, id string, in UpdateInput) (Webhook, string, error) {
	rec, err := r.load(ctx, tenant, id)
	if err != nil {
		return Webhook{}, "", err
	}
	if in.URL != nil {
		u, err := r.policy.CheckURL(*in.URL)
		if err != nil {
			return Webhook{}, "", err
		}
		rec.URL = u.String()
	}
	if in.Events != nil {
		if rec.Events, err = checkEvents(*in.Events); err != nil {
			return Webhook{}, "", err
		}
	}
	var sec *sealedSecrets
	if in.AuthHeaderKey != nil || in.AuthHeaderValue != nil || in.GenerateNewSecret {
		s, err := r.open(ctx, rec)
		if err != nil {
			return Webhook{}, "", err
		}
		sec = &s
	}
	if in.AuthHeaderKey != nil || in.AuthHeaderValue != nil {
		key, value := rec.AuthHeaderKey, sec.AuthHeaderValue
		if in.AuthHeaderKey != nil {
			key = *in.AuthHeaderKey
			if key == "" && in.AuthHeaderValue == nil {
				value = ""
			}
		}
		if in.AuthHeaderValue != nil {
			value = *in.AuthHeaderValue
		}
		if err := checkAuthHeader(key, value); err != nil {
			return Webhook{}, "", err
		}
		rec.AuthHeaderKey, sec.AuthHeaderValue = key, value
	}
	rec.EncryptMessageBody = boolOr(in.EncryptMessageBody, rec.EncryptMessageBody)
	rec.AddSignatureHeader = boolOr(in.AddSignatureHeader, rec.AddSignatureHeader)
	if in.Enabled != nil {
		rec.Enabled = *in.Enabled
		if rec.Enabled {
			rec.DisabledReason = ""
		}
	}
	now := r.now()
	secret := ""
	if in.GenerateNewSecret {
		secret = NewSecret()
		sec.rotate(secret, now)
	}
	rec.Updated = now
	if err := r.save(ctx, &rec, sec); err != nil {
		return Webhook{}, "", fmt.Errorf("update webhook %s: %w", id, err)
	}
	return r.view(rec), secret, nil
}

// rotate makes secret the current one: the previous current secret signs
// for SecretOverlap more; older ones keep their expiry.
func (s *sealedSecrets) rotate(secret string, now time.Time) {
	kept := []secretEntry{{Secret: secret, Created: now}}
	for _, e := range s.Secrets {
		if e.Expires.IsZero() {
			e.Expires = now.Add(SecretOverlap)
		}
		if now.Before(e.Expires) && len(kept) < maxSecrets {
			kept = append(kept, e)
		}
	}
	s.Secrets = kept
}

// Rotate replaces a webhook's secret with a new one, returned (shown only
// here); the old one keeps signing, alongside, for SecretOverlap.
func (r *Registry) Rotate(ctx context.Context, tenant, id string) (Webhook, string, error) {
	return r.Update(ctx, tenant, id, UpdateInput{GenerateNewSecret: true})
}

// Delete removes a registration (store.ErrNotFound when there is none).
// Its delivery log expires by itself; retries still queued find no
// webhook and stop.
func (r *Registry) Delete(ctx context.Context, tenant, id string) error {
	if err := r.items.DeleteItem(ctx, tenant, KindWebhook, id); err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// disable turns a webhook off (a 410 from its endpoint).
func (r *Registry) disable(ctx context.Context, tenant, id, reason string) error {
	rec, err := r.load(ctx, tenant, id)
	if err != nil {
		return err
	}
	rec.Enabled = false
	rec.DisabledReason = reason
	rec.Updated = r.now()
	return r.save(ctx, &rec, nil)
}

// target is what a delivery needs of a registration.
type target struct {
	Webhook
	callback        bool
	secrets         []string // active, newest first
	authHeaderValue string
}

// target returns the registration of a delivery with its active secrets.
func (r *Registry) target(ctx context.Context, rec record) (target, error) {
	sec, err := r.open(ctx, rec)
	if err != nil {
		return target{}, err
	}
	t := target{Webhook: r.view(rec), secrets: sec.active(r.now()), authHeaderValue: sec.AuthHeaderValue}
	if len(t.secrets) == 0 {
		return target{}, fmt.Errorf("webhook %s: no active secret", rec.ID)
	}
	return t, nil
}

// targets returns the targets of an event: the enabled webhooks of the
// tenant subscribed to its type. Registrations whose secrets cannot be
// opened (a KMS failure) are returned apart, with the errors, so that they
// can be retried on their own.
func (r *Registry) targets(ctx context.Context, tenant, eventType string) ([]target, []record, error) {
	recs, err := r.list(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	var out []target
	var failed []record
	var errs []error
	for _, rec := range recs {
		if !rec.Enabled || !rec.subscribes(eventType) {
			continue
		}
		t, err := r.target(ctx, rec)
		if err != nil {
			failed = append(failed, rec)
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	return out, failed, errors.Join(errs...)
}

// isNotFound reports a missing registration.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
