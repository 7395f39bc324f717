// Package envelope encrypts biometric templates at rest: AES-256-GCM under
// a data key (envelope encryption), the data key wrapped by a key provider
// (AWS KMS in AWS, a local master key file for the local server), and
// additional authenticated data binding every ciphertext to its tenant,
// class id and purpose, so that a stored template cannot be moved to
// another class or tenant: [Sealer.Open] with any other AAD fails.
//
// # Sealed blob, version 1
//
//	offset   size   field
//	0        4      magic "FLSE"
//	4        1      format version (1)
//	5        1      flags: bit 0 = the data key's encryption context names
//	                the class id (a data key per seal)
//	6        2      key id length k, uint16 big endian (1..1024)
//	8        k      key id (KMS key ARN, or "local:<fingerprint>")
//	8+k      2      wrapped data key length w, uint16 big endian (1..4096)
//	10+k     w      wrapped data key (KMS ciphertext blob, or local AES-GCM)
//	10+k+w   12     GCM nonce (random)
//	22+k+w   n+16   ciphertext and GCM tag
//
// The GCM additional data is the header (bytes 0..10+k+w) followed by the
// AAD fields (a fixed label, the tenant, the class id and the purpose,
// length-prefixed), so neither the header nor the AAD can be changed.
//
// # Data keys and the encryption context
//
// The data key's encryption context (KMS EncryptionContext; the AAD of the
// local wrapping) is {"tenant", "purpose"} and, when a data key is made for
// one seal, "classId". By default a [Sealer] reuses a data key for up to
// [Options].KeyUses seals of one tenant and purpose within
// [Options].KeyAge, so enrolling does not call KMS per template, and
// reading a tenant's templates needs few KMS calls (unwrapped keys are
// cached, bounded in number and age). The class id is then bound by the
// GCM AAD alone, which is what makes moving a blob fail; KeyUses = 1 gives
// a fresh data key per seal with the class id in the key context too.
package envelope

import (
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"
)

// KeyProvider makes and unwraps data keys. The encryption context is
// bound to the wrapped key: Decrypt with another context fails (with an
// error wrapping [ErrAuthentication]).
type KeyProvider interface {
	// GenerateDataKey returns a fresh 32-byte key, the key wrapped, and the
	// id of the wrapping key.
	GenerateDataKey(ctx context.Context, ec KeyContext) (plaintext, wrapped []byte, keyID string, err error)
	// Decrypt unwraps a data key made by GenerateDataKey.
	Decrypt(ctx context.Context, wrapped []byte, keyID string, ec KeyContext) ([]byte, error)
}

const (
	// Magic starts every sealed blob.
	Magic = "FLSE"
	// FormatVersion is the version written and read.
	FormatVersion = 1

	aadLabel   = "facelambda/envelope/v1\x00"
	maxField   = 1024
	maxSubject = 4096
	maxWrapped = 4096
	nonceLen   = 12
	tagLen     = 16
	flagClass  = 1
)

var (
	// ErrMalformed reports bytes that are not a sealed blob of a version
	// this build reads.
	ErrMalformed = errors.New("envelope: not a sealed blob")
	// ErrAuthentication reports a blob that does not authenticate: it was
	// altered, or is opened with another tenant, class id or purpose than
	// it was sealed with.
	ErrAuthentication = errors.New("envelope: authentication failed (the sealed data was altered, or belongs to another tenant, class or purpose)")
	// ErrUnknownKey reports a blob wrapped under a key the provider does
	// not hold (another master key).
	ErrUnknownKey = errors.New("envelope: sealed under another key")
)

// Options tune a [Sealer]; zero values take the defaults.
type Options struct {
	// KeyUses is how many seals one data key serves (default 1000; 1: a
	// fresh data key per seal, with the class id in its context).
	KeyUses int
	// KeyAge is how long a data key serves seals (default 10 minutes).
	KeyAge time.Duration
	// CacheKeys bounds the unwrapped data keys kept for Open (default
	// 1024); CacheAge is how long one is kept (default 15 minutes).
	CacheKeys int
	CacheAge  time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Sealer seals and opens blobs with data keys from a provider. It is safe
// for concurrent use.
type Sealer struct {
	p   KeyProvider
	opt Options

	mu      sync.Mutex
	current map[[2]string]*dataKey // by tenant, purpose
	cache   map[[32]byte]*cachedKey
	stats   Stats
}

type dataKey struct {
	aead    cipher.AEAD
	keyID   string
	wrapped []byte
	uses    int
	created time.Time
}

type cachedKey struct {
	aead cipher.AEAD
	at   time.Time
	used time.Time
}

// Stats counts the provider calls a Sealer made.
type Stats struct {
	Generated   int // GenerateDataKey calls
	Unwrapped   int // Decrypt calls
	CacheHits   int // Opens served by a cached key
	CachedKeys  int
	CurrentKeys int
}

// NewSealer returns a sealer over p.
func NewSealer(p KeyProvider, opt Options) *Sealer {
	if opt.KeyUses <= 0 {
		opt.KeyUses = 1000
	}
	if opt.KeyAge <= 0 {
		opt.KeyAge = 10 * time.Minute
	}
	if opt.CacheKeys <= 0 {
		opt.CacheKeys = 1024
	}
	if opt.CacheAge <= 0 {
		opt.CacheAge = 15 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Sealer{p: p, opt: opt, current: map[[2]string]*dataKey{}, cache: map[[32]byte]*cachedKey{}}
}

// Seal encrypts plaintext bound to aad.
func (s *Sealer) Seal(ctx context.Context, plaintext []byte, aad AAD) ([]byte, error) {
	if err := aad.check(); err != nil {
		return nil, err
	}
	perSeal := s.opt.KeyUses == 1
	k, err := s.dataKey(ctx, aad, perSeal)
	if err != nil {
		return nil, err
	}
	var flags byte
	if perSeal {
		flags |= flagClass
	}
	hdr := make([]byte, 0, 10+len(k.keyID)+len(k.wrapped))
	hdr = append(hdr, Magic...)
	hdr = append(hdr, FormatVersion, flags)
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(k.keyID)))
	hdr = append(hdr, k.keyID...)
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(k.wrapped)))
	hdr = append(hdr, k.wrapped...)
	out := make([]byte, len(hdr), len(hdr)+nonceLen+len(plaintext)+tagLen)
	copy(out, hdr)
	return AppendSealed(k.aead, out, plaintext, append(hdr, aad.bytes()...))
}

// dataKey returns the data key to seal with: the current one of the
// tenant and purpose while it has uses and age left, or a new one.
func (s *Sealer) dataKey(ctx context.Context, aad AAD, perSeal bool) (*dataKey, error) {
	now := s.opt.Now()
	slot := [2]string{aad.Tenant, aad.Purpose}
	if !perSeal {
		s.mu.Lock()
		if k := s.current[slot]; k != nil && k.uses < s.opt.KeyUses && now.Sub(k.created) < s.opt.KeyAge {
			k.uses++
			s.mu.Unlock()
			return k, nil
		}
		s.mu.Unlock()
	}
	ec := aad.keyContext(perSeal)
	plain, wrapped, keyID, err := s.p.GenerateDataKey(ctx, ec)
	if err != nil {
		return nil, fmt.Errorf("envelope: generate data key: %w", err)
	}
	if keyID == "" || len(keyID) > maxField || len(wrapped) == 0 || len(wrapped) > maxWrapped {
		return nil, fmt.Errorf("envelope: provider returned key id %q and a wrapped key of %d bytes", keyID, len(wrapped))
	}
	aead, err := NewGCM(plain)
	clear(plain)
	if err != nil {
		return nil, err
	}
	k := &dataKey{aead: aead, keyID: keyID, wrapped: wrapped, uses: 1, created: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Generated++
	// The key also opens what it sealed without a provider call.
	s.remember(cacheID(keyID, wrapped, ec), aead, now)
	if !perSeal {
		s.current[slot] = k
		if len(s.current) > s.opt.CacheKeys { // bound: drop the oldest
			var oldest [2]string
			var at time.Time
			for sl, c := range s.current {
				if at.IsZero() || c.created.Before(at) {
					oldest, at = sl, c.created
				}
			}
			delete(s.current, oldest)
		}
	}
	return k, nil
}

// cacheID identifies an unwrapped key by what unwrapping it needs.
func cacheID(keyID string, wrapped []byte, ec KeyContext) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s|%d:", len(keyID), keyID, len(wrapped))
	h.Write(wrapped)
	for _, k := range []string{"tenant", "purpose", "classId"} {
		v, ok := ec[k]
		fmt.Fprintf(h, "|%s=%t:%d:%s", k, ok, len(v), v)
	}
	var id [32]byte
	h.Sum(id[:0])
	return id
}

// remember caches an unwrapped key, evicting expired then least recently
// used ones over the bound. s.mu is held.
func (s *Sealer) remember(id [32]byte, aead cipher.AEAD, now time.Time) {
	s.cache[id] = &cachedKey{aead: aead, at: now, used: now}
	if len(s.cache) <= s.opt.CacheKeys {
		return
	}
	for k, c := range s.cache {
		if now.Sub(c.at) >= s.opt.CacheAge {
			delete(s.cache, k)
		}
	}
	for len(s.cache) > s.opt.CacheKeys {
		var victim [32]byte
		var oldest time.Time
		for k, c := range s.cache {
			if oldest.IsZero() || c.used.Before(oldest) {
				victim, oldest = k, c.used
			}
		}
		delete(s.cache, victim)
	}
}

// Open decrypts a blob sealed with the same aad. A blob that was altered,
// or sealed for another tenant, class id or purpose, fails with an error
// wrapping [ErrAuthentication]; one that is not a blob, with
// [ErrMalformed]; one wrapped under a key the provider does not hold, with
// [ErrUnknownKey]. Other errors are the provider's (network, permissions).
func (s *Sealer) Open(ctx context.Context, blob []byte, aad AAD) ([]byte, error) {
	if err := aad.check(); err != nil {
		return nil, err
	}
	h, err := parseHeader(blob)
	if err != nil {
		return nil, err
	}
	ec := aad.keyContext(h.flags&flagClass != 0)
	id := cacheID(h.keyID, h.wrapped, ec)
	now := s.opt.Now()
	s.mu.Lock()
	c := s.cache[id]
	if c != nil && now.Sub(c.at) >= s.opt.CacheAge {
		delete(s.cache, id)
		c = nil
	}
	var aead cipher.AEAD
	if c != nil {
		c.used = now
		aead = c.aead
		s.stats.CacheHits++
	}
	s.mu.Unlock()
	if aead == nil {
		plain, err := s.p.Decrypt(ctx, h.wrapped, h.keyID, ec)
		if err != nil {
			return nil, fmt.Errorf("envelope: unwrap data key: %w", err)
		}
		aead, err = NewGCM(plain)
		clear(plain)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.stats.Unwrapped++
		s.remember(id, aead, now)
		s.mu.Unlock()
	}
	ad := append(append([]byte(nil), blob[:h.hdrLen]...), aad.bytes()...)
	out, err := aead.Open(nil, blob[h.hdrLen:h.nonceEnd], blob[h.nonceEnd:], ad)
	if err != nil {
		return nil, ErrAuthentication
	}
	return out, nil
}

// Stats returns the provider calls made so far and the keys held.
func (s *Sealer) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.CachedKeys, st.CurrentKeys = len(s.cache), len(s.current)
	return st
}
