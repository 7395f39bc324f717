package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/facelambda/facelambda/internal/core/envelope"
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

// isNotFound reports a missing registration.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
