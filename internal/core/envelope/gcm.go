package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// ErrShort reports a sealed value shorter than a nonce and a tag.
var ErrShort = errors.New("sealed value too short")

// NewGCM returns AES-256-GCM (12-byte nonces, 16-byte tags) under a 32-byte
// key: the one AEAD of the service (templates at rest, wrapped data keys,
// webhook secrets and bodies).
func NewGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("AES-256-GCM key of %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// AppendSealed appends a random nonce and the ciphertext and tag of
// plaintext (additional data ad) to dst.
func AppendSealed(a cipher.AEAD, dst, plaintext, ad []byte) ([]byte, error) {
	n := len(dst)
	dst = append(dst, make([]byte, a.NonceSize())...)
	nonce := dst[n:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.Seal(dst, nonce, plaintext, ad), nil
}

// OpenSealed opens nonce || ciphertext || tag as AppendSealed made it.
func OpenSealed(a cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < a.NonceSize()+a.Overhead() {
		return nil, ErrShort
	}
	return a.Open(nil, sealed[:a.NonceSize()], sealed[a.NonceSize():], ad)
}

// Seal returns nonce || ciphertext || tag of plaintext under a 32-byte key.
func Seal(key, plaintext, ad []byte) ([]byte, error) {
	a, err := NewGCM(key)
	if err != nil {
		return nil, err
	}
	return AppendSealed(a, make([]byte, 0, a.NonceSize()+len(plaintext)+a.Overhead()), plaintext, ad)
}

// Open opens what Seal returned.
func Open(key, sealed, ad []byte) ([]byte, error) {
	a, err := NewGCM(key)
	if err != nil {
		return nil, err
	}
	return OpenSealed(a, sealed, ad)
}
