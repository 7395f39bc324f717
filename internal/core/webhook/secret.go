package webhook

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/core/envelope"
)

// Webhook secrets follow the Standard Webhooks convention: "whsec_" and
// the base64 (standard, padded) of the key bytes. facelambda draws 32
// random bytes; Verify and Decrypt accept 24 to 64.
const (
	SecretPrefix   = "whsec_"
	secretBytes    = 32
	minSecretBytes = 24
	maxSecretBytes = 64
)

// ErrBadSecret reports a string that is not a webhook secret.
var ErrBadSecret = errors.New("not a webhook secret (whsec_ and base64 of 24 to 64 bytes)")

// NewSecret returns a new random secret.
func NewSecret() string {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand.Read does not fail
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKeyBytes returns the key bytes of a secret.
func secretKeyBytes(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrBadSecret
	}
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) < minSecretBytes || len(k) > maxSecretBytes {
		return nil, ErrBadSecret
	}
	return k, nil
}

// SecretKey provides the data keys that encrypt the webhook secrets (and
// custom auth header values) at rest. Each write of a registration seals
// its secrets with a fresh 32-byte data key under AES-256-GCM, with the
// tenant and webhook id as additional data; the provider wraps the data
// key, and the wrapped key is stored next to the ciphertext.
type SecretKey interface {
	// NewDataKey returns a fresh data key for the registration of
	// (tenant, webhookID) and its wrapped form.
	NewDataKey(ctx context.Context, tenant, webhookID string) (key, wrapped []byte, err error)
	// DataKey unwraps a data key made by NewDataKey for the same tenant
	// and webhook id.
	DataKey(ctx context.Context, tenant, webhookID string, wrapped []byte) ([]byte, error)
}

// aad is the additional authenticated data binding a sealed value to its
// registration.
func aad(label, tenant, webhookID string) []byte {
	return []byte("facelambda/webhook/" + label + "\x00" + tenant + "\x00" + webhookID)
}

// StaticKey is a SecretKey that wraps data keys under one 32-byte master
// key with AES-256-GCM (the local server's, from a key file).
type StaticKey struct{ master []byte }

var _ SecretKey = (*StaticKey)(nil)

// NewStaticKey returns a StaticKey; master must be 32 bytes.
func NewStaticKey(master []byte) (*StaticKey, error) {
	if len(master) != 32 {
		return nil, fmt.Errorf("webhook master key: %d bytes, want 32", len(master))
	}
	return &StaticKey{master: append([]byte(nil), master...)}, nil
}

// LoadKeyFile returns the StaticKey of a key file: 32 bytes as 64 hex
// digits. The first call creates the file (mode 0600) with a random key;
// a file readable by group or others is refused.
func LoadKeyFile(path string) (*StaticKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("webhook key file: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) { // created concurrently
			return LoadKeyFile(path)
		}
		if err != nil {
			return nil, fmt.Errorf("webhook key file: %w", err)
		}
		_, err = f.WriteString(hex.EncodeToString(key) + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("webhook key file %s: %w", path, err)
		}
		return NewStaticKey(key)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook key file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("webhook key file %s: mode %v, want 0600", path, fi.Mode().Perm())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("webhook key file %s: not 64 hex digits", path)
	}
	return NewStaticKey(key)
}

// NewDataKey draws a data key and wraps it under the master key.
func (k *StaticKey) NewDataKey(_ context.Context, tenant, webhookID string) ([]byte, []byte, error) {
	dk := make([]byte, 32)
	if _, err := rand.Read(dk); err != nil {
		return nil, nil, err
	}
	wrapped, err := envelope.Seal(k.master, dk, aad("datakey", tenant, webhookID))
	if err != nil {
		return nil, nil, fmt.Errorf("wrap data key: %w", err)
	}
	return dk, wrapped, nil
}

// DataKey unwraps a data key.
func (k *StaticKey) DataKey(_ context.Context, tenant, webhookID string, wrapped []byte) ([]byte, error) {
	dk, err := envelope.Open(k.master, wrapped, aad("datakey", tenant, webhookID))
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", err)
	}
	return dk, nil
}

// KMSKey is a SecretKey that wraps data keys with AWS KMS (a symmetric
// key) through the service's one KMS wrapper, envelope.KMS: a KMS
// GenerateDataKey per registration write, a KMS Decrypt per unwrap, with
// the encryption context {"tenant", "webhookId"} (KMS's additional data,
// logged by CloudTrail). Unwrapped keys are cached for CacheTTL, so that a
// warm dispatcher does not call KMS for every event.
type KMSKey struct {
	p     envelope.KeyProvider
	keyID string
	// CacheTTL is how long an unwrapped data key is kept (default 5
	// minutes; negative: never).
	CacheTTL time.Duration
	// Now is the cache's clock (time.Now by default).
	Now func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cachedKey
}

type cachedKey struct {
	key     []byte
	expires time.Time
}

// kmsCacheMax bounds the cached data keys (one per registration write).
const kmsCacheMax = 4096

var _ SecretKey = (*KMSKey)(nil)

// NewKMSKey returns a KMSKey using the KMS key keyID (an id, ARN or
// alias) through client (a *kms.Client).
func NewKMSKey(client KMS, keyID string) *KMSKey {
	return NewProviderKey(envelope.NewKMS(client, keyID), keyID)
}

// NewProviderKey returns a KMSKey whose data keys p makes and unwraps
// (keyID is passed to p.Decrypt).
func NewProviderKey(p envelope.KeyProvider, keyID string) *KMSKey {
	return &KMSKey{p: p, keyID: keyID, CacheTTL: 5 * time.Minute, Now: time.Now}
}

func kmsContext(tenant, webhookID string) envelope.KeyContext {
	return envelope.KeyContext{"tenant": tenant, "webhookId": webhookID}
}

// NewDataKey draws a data key and encrypts it with KMS.
func (k *KMSKey) NewDataKey(ctx context.Context, tenant, webhookID string) ([]byte, []byte, error) {
	dk, wrapped, _, err := k.p.GenerateDataKey(ctx, kmsContext(tenant, webhookID))
	if err != nil {
		return nil, nil, fmt.Errorf("wrap data key with KMS: %w", err)
	}
	return dk, wrapped, nil
}

// DataKey decrypts a data key with KMS (or finds it in the cache).
func (k *KMSKey) DataKey(ctx context.Context, tenant, webhookID string, wrapped []byte) ([]byte, error) {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(tenant), []byte(webhookID), wrapped} {
		h.Write([]byte(fmt.Sprintf("%d:", len(part))))
		h.Write(part)
	}
	var id [32]byte
	h.Sum(id[:0])
	now := k.now()
	k.mu.Lock()
	if c, ok := k.cache[id]; ok && now.Before(c.expires) {
		k.mu.Unlock()
		return c.key, nil
	}
	k.mu.Unlock()

	dk, err := k.p.Decrypt(ctx, wrapped, k.keyID, kmsContext(tenant, webhookID))
	if err != nil {
		return nil, fmt.Errorf("unwrap data key with KMS: %w", err)
	}
	if len(dk) != 32 {
		return nil, fmt.Errorf("unwrap data key with KMS: %d bytes, want 32", len(dk))
	}
	if k.CacheTTL >= 0 {
		ttl := k.CacheTTL
		if ttl == 0 {
			ttl = 5 * time.Minute
		}
		k.mu.Lock()
		if k.cache == nil || len(k.cache) >= kmsCacheMax {
			k.cache = make(map[[32]byte]cachedKey)
		}
		k.cache[id] = cachedKey{key: dk, expires: now.Add(ttl)}
		k.mu.Unlock()
	}
	return dk, nil
}

func (k *KMSKey) now() time.Time {
	if k.Now == nil {
		return time.Now()
	}
	return k.Now()
}
