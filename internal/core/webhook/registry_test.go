package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/webhook"
)

func ptr[T any](v T) *T { return &v }

func TestRegistryCRUD(t *testing.T) {
	items := newItems(t)
	key, err := webhook.NewStaticKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	reg := webhook.NewRegistry(items, key, webhook.Policy{})
	ctx := t.Context()

	w, secret, err := reg.Create(ctx, "t1", webhook.CreateInput{
		URL:             "https://hooks.example.com/facelambda",
		Events:          []string{events.MatchCompleted, events.SessionCreated, events.MatchCompleted},
		AuthHeaderKey:   "X-Api-Key",
		AuthHeaderValue: "very-secret-value",
	})
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{32}$`, w.ID)
	assert.True(t, strings.HasPrefix(secret, "whsec_"))
	assert.Equal(t, []string{events.MatchCompleted, events.SessionCreated}, w.Events, "deduplicated")
	assert.True(t, w.EncryptMessageBody, "default of seed 003")
	assert.True(t, w.AddSignatureHeader)
	assert.True(t, w.Enabled)
	assert.Equal(t, "X-Api-Key", w.AuthHeaderKey)

	// Secrets and the auth header value are not stored in the clear.
	it, err := items.GetItem(ctx, "t1", webhook.KindWebhook, w.ID)
	require.NoError(t, err)
	assert.NotContains(t, string(it.Data), strings.TrimPrefix(secret, "whsec_"))
	assert.NotContains(t, string(it.Data), "very-secret-value")

	got, err := reg.Get(ctx, "t1", w.ID)
	require.NoError(t, err)
	assert.Equal(t, w.URL, got.URL)
	_, err = reg.Get(ctx, "t2", w.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "another tenant's webhook")

	w2, _, err := reg.Create(ctx, "t1", webhook.CreateInput{
		URL: "https://other.example.com/x", Events: []string{"*"},
		EncryptMessageBody: ptr(false), AddSignatureHeader: ptr(false),
	})
	require.NoError(t, err)
	assert.False(t, w2.EncryptMessageBody)
	assert.False(t, w2.AddSignatureHeader)
	list, err := reg.List(ctx, "t1")
	require.NoError(t, err)
	assert.Len(t, list, 2)
	list, err = reg.List(ctx, "t2")
	require.NoError(t, err)
	assert.Empty(t, list)

	sub, err := reg.Subscribed(ctx, "t1", events.SessionCreated)
	require.NoError(t, err)
	assert.Len(t, sub, 2)
	sub, err = reg.Subscribed(ctx, "t1", events.FaceCreated)
	require.NoError(t, err)
	require.Len(t, sub, 1)
	assert.Equal(t, w2.ID, sub[0].ID, "only the \"*\" webhook")
	sub, err = reg.Subscribed(ctx, "t1", events.WebhookTest)
	require.NoError(t, err)
	assert.Empty(t, sub, "pings are never fanned out")

	up, newSecret, err := reg.Update(ctx, "t1", w.ID, webhook.UpdateInput{
		URL: ptr("https://hooks.example.com/v2"), Events: &[]string{events.FaceCreated},
		Enabled: ptr(false), AuthHeaderKey: ptr(""),
	})
	require.NoError(t, err)
	assert.Empty(t, newSecret)
	assert.Equal(t, "https://hooks.example.com/v2", up.URL)
	assert.Equal(t, []string{events.FaceCreated}, up.Events)
	assert.False(t, up.Enabled)
	assert.Empty(t, up.AuthHeaderKey)
	assert.True(t, up.Updated.After(up.Created) || up.Updated.Equal(up.Created))
	sub, err = reg.Subscribed(ctx, "t1", events.FaceCreated)
	require.NoError(t, err)
	assert.Len(t, sub, 1, "a disabled webhook is not subscribed")

	_, _, err = reg.Update(ctx, "t1", w.ID, webhook.UpdateInput{URL: ptr("http://hooks.example.com/")})
	assert.ErrorIs(t, err, webhook.ErrInvalid)
	_, _, err = reg.Update(ctx, "t1", "nope", webhook.UpdateInput{})
	assert.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, reg.Delete(ctx, "t1", w.ID))
	assert.ErrorIs(t, reg.Delete(ctx, "t1", w.ID), store.ErrNotFound)
	_, err = reg.Get(ctx, "t1", w.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestRegistryValidation(t *testing.T) {
	reg := newRegistry(t, webhook.Policy{})
	ctx := t.Context()
	ok := webhook.CreateInput{URL: "https://example.com/x", Events: []string{"*"}}
	bad := map[string]func(in *webhook.CreateInput){
		"no url":           func(in *webhook.CreateInput) { in.URL = "" },
		"http":             func(in *webhook.CreateInput) { in.URL = "http://example.com/x" },
		"userinfo":         func(in *webhook.CreateInput) { in.URL = "https://a:b@example.com/x" },
		"metadata":         func(in *webhook.CreateInput) { in.URL = "https://169.254.169.254/" },
		"no events":        func(in *webhook.CreateInput) { in.Events = nil },
		"unknown event":    func(in *webhook.CreateInput) { in.Events = []string{"enrollment.started"} },
		"ping event":       func(in *webhook.CreateInput) { in.Events = []string{events.WebhookTest} },
		"key only":         func(in *webhook.CreateInput) { in.AuthHeaderKey = "X-Key" },
		"value only":       func(in *webhook.CreateInput) { in.AuthHeaderValue = "v" },
		"bad header name":  func(in *webhook.CreateInput) { in.AuthHeaderKey, in.AuthHeaderValue = "X Key", "v" },
		"reserved header":  func(in *webhook.CreateInput) { in.AuthHeaderKey, in.AuthHeaderValue = "Content-Type", "v" },
		"webhook- header":  func(in *webhook.CreateInput) { in.AuthHeaderKey, in.AuthHeaderValue = "Webhook-Signature", "v" },
		"newline in value": func(in *webhook.CreateInput) { in.AuthHeaderKey, in.AuthHeaderValue = "X-Key", "a\r\nHost: evil" },
	}
	for name, mutate := range bad {
		in := ok
		mutate(&in)
		_, _, err := reg.Create(ctx, "t1", in)
		assert.ErrorIs(t, err, webhook.ErrInvalid, name)
	}
	list, err := reg.List(ctx, "t1")
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestRegistryLimit(t *testing.T) {
	reg := newRegistry(t, webhook.Policy{})
	ctx := t.Context()
	for range webhook.MaxWebhooks {
		_, _, err := reg.Create(ctx, "t1", webhook.CreateInput{URL: "https://example.com/x", Events: []string{"*"}})
		require.NoError(t, err)
	}
	_, _, err := reg.Create(ctx, "t1", webhook.CreateInput{URL: "https://example.com/x", Events: []string{"*"}})
	assert.ErrorIs(t, err, webhook.ErrInvalid)
}

// countingKeys is a key provider (envelope's local one, which binds the
// encryption context as KMS does) that checks the key id and counts the
// unwraps.
type countingKeys struct {
	*envelope.LocalKey
	mu       sync.Mutex
	decrypts int
}

func (k *countingKeys) Decrypt(ctx context.Context, wrapped []byte, keyID string, ec envelope.KeyContext) ([]byte, error) {
	k.mu.Lock()
	k.decrypts++
	k.mu.Unlock()
	if keyID != "alias/facelambda-webhooks" {
		return nil, errors.New("wrong key")
	}
	return k.LocalKey.Decrypt(ctx, wrapped, k.ID(), ec)
}

func TestKMSKey(t *testing.T) {
	local, err := envelope.NewLocalKey(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	api := &countingKeys{LocalKey: local}
	key := webhook.NewProviderKey(api, "alias/facelambda-webhooks")
	clk := newClock()
	key.Now = clk.Now
	ctx := t.Context()

	dk, wrapped, err := key.NewDataKey(ctx, "t1", "w1")
	require.NoError(t, err)
	assert.Len(t, dk, 32)
	got, err := key.DataKey(ctx, "t1", "w1", wrapped)
	require.NoError(t, err)
	assert.Equal(t, dk, got)
	_, err = key.DataKey(ctx, "t2", "w1", wrapped)
	assert.Error(t, err, "the encryption context binds the tenant")
	_, err = key.DataKey(ctx, "t1", "w2", wrapped)
	assert.Error(t, err, "and the webhook id")

	n := api.decrypts
	_, err = key.DataKey(ctx, "t1", "w1", wrapped)
	require.NoError(t, err)
	assert.Equal(t, n, api.decrypts, "cached")
	clk.Add(6 * time.Minute)
	_, err = key.DataKey(ctx, "t1", "w1", wrapped)
	require.NoError(t, err)
	assert.Equal(t, n+1, api.decrypts, "the cache expires")

	// A registry on KMS works end to end.
	reg := webhook.NewRegistry(newItems(t), key, webhook.Policy{})
	w, _, err := reg.Create(ctx, "t1", webhook.CreateInput{URL: "https://example.com/x", Events: []string{"*"}})
	require.NoError(t, err)
	_, s2, err := reg.Rotate(ctx, "t1", w.ID)
	require.NoError(t, err)
	assert.NotEmpty(t, s2)
}

func TestLoadKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhook.key")
	k1, err := webhook.LoadKeyFile(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	k2, err := webhook.LoadKeyFile(path)
	require.NoError(t, err)
	dk, wrapped, err := k1.NewDataKey(t.Context(), "t", "w")
	require.NoError(t, err)
	got, err := k2.DataKey(t.Context(), "t", "w", wrapped)
	require.NoError(t, err)
	assert.Equal(t, dk, got, "the same key after a reload")

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = webhook.LoadKeyFile(path)
	assert.Error(t, err, "a key file readable by others")
	bad := filepath.Join(t.TempDir(), "bad.key")
	require.NoError(t, os.WriteFile(bad, []byte("nope"), 0o600))
	_, err = webhook.LoadKeyFile(bad)
	assert.Error(t, err)
}
