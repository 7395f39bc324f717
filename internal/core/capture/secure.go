package capture

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/facelambda/facelambda/internal/core/envelope"
)

const (
	// SessionKeyBits is the size of the session RSA keys.
	SessionKeyBits = 2048
	// MaxSealedBytes bounds the encryptedMetaData that [Open] accepts: the
	// default MaxTotalBytes, plus room for the manifest and the ZIP
	// structure, plus the 32 bytes of sealing overhead.
	MaxSealedBytes = defaultTotal + zipOverhead + sealOverhead

	sealLabel    = "facelambda-capture-v1" // OAEP label and AD prefix
	sealMagic    = "FLC1"                  // encryptedMetaData prefix
	secretSize   = 32                      // AES-256 key
	nonceSize    = 12                      // GCM nonce
	tagSize      = 16                      // GCM tag
	sealOverhead = len(sealMagic) + nonceSize + tagSize
)

// NewSessionKey makes a session's RSA-2048 key pair.
func NewSessionKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, SessionKeyBits)
	if err != nil {
		return nil, fmt.Errorf("capture: generating session key: %w", err)
	}
	return k, nil
}

// MarshalKey encodes a session key in PKCS #8 DER form.
func MarshalKey(k *rsa.PrivateKey) ([]byte, error) {
	if k == nil {
		return nil, errors.New("capture: marshal key: nil key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("capture: marshal key: %w", err)
	}
	return der, nil
}

// ParseKey decodes a session key from PKCS #8 DER form. The key must be an
// RSA key of at least 2048 bits.
func ParseKey(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("capture: parse key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("capture: parse key: %T is not an RSA key", k)
	}
	if n := rk.N.BitLen(); n < SessionKeyBits {
		return nil, fmt.Errorf("capture: parse key: RSA key of %d bits, want at least %d", n, SessionKeyBits)
	}
	return rk, nil
}

// PublicJWK returns a session's public key as a JSON Web Key (RFC 7517,
// 7518): kty "RSA", alg "RSA-OAEP-256", use "enc" and the base64url
// (unpadded, big-endian) modulus n and exponent e. It returns nil for a
// nil key.
func PublicJWK(pub *rsa.PublicKey) map[string]any {
	if pub == nil || pub.N == nil {
		return nil
	}
	b64 := base64.RawURLEncoding.EncodeToString
	return map[string]any{
		"kty": "RSA",
		"alg": "RSA-OAEP-256",
		"use": "enc",
		"n":   b64(pub.N.Bytes()),
		"e":   b64(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// ParseJWK reads the public key of a JWK made by PublicJWK (what a client
// gets in the liveness parameters' publicKey), refusing keys under
// SessionKeyBits.
func ParseJWK(jwk map[string]any) (*rsa.PublicKey, error) {
	field := func(name string) ([]byte, error) {
		v, _ := jwk[name].(string)
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("capture: JWK member %q is not base64url", name)
		}
		return b, nil
	}
	if jwk["kty"] != "RSA" {
		return nil, errors.New("capture: JWK is not an RSA key")
	}
	n, err := field("n")
	if err != nil {
		return nil, err
	}
	e, err := field("e")
	if err != nil {
		return nil, err
	}
	if len(e) > 4 {
		return nil, errors.New("capture: JWK exponent too large")
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if pub.N.BitLen() < SessionKeyBits || pub.E < 3 {
		return nil, fmt.Errorf("capture: JWK key of %d bits, want %d", pub.N.BitLen(), SessionKeyBits)
	}
	return pub, nil
}

// PublicPEM returns a session's public key as a PEM "PUBLIC KEY" block
// (X.509 SubjectPublicKeyInfo).
func PublicPEM(pub *rsa.PublicKey) (string, error) {
	if pub == nil {
		return "", errors.New("capture: public PEM: nil key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("capture: public PEM: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// Seal encrypts a capture container for the session whose public key is
// pub (the client side of secure capture; see the package documentation
// for the format). It returns encryptedMetaData and encryptedMasterSecret.
func Seal(pub *rsa.PublicKey, sessionID, serverRandom string, container []byte) (encMeta, encSecret []byte, err error) {
	if pub == nil || pub.N == nil {
		return nil, nil, errors.New("capture: seal: nil public key")
	}
	if n := pub.N.BitLen(); n < SessionKeyBits {
		return nil, nil, fmt.Errorf("capture: seal: RSA key of %d bits, want at least %d", n, SessionKeyBits)
	}
	if err := checkText("sessionId", sessionID, 1, maxIDBytes); err != nil {
		return nil, nil, fmt.Errorf("capture: seal: %w", err)
	}
	if err := checkText("serverRandom", serverRandom, 1, maxIDBytes); err != nil {
		return nil, nil, fmt.Errorf("capture: seal: %w", err)
	}
	secret := make([]byte, secretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, nil, fmt.Errorf("capture: seal: drawing the key: %w", err)
	}
	encSecret, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, secret, []byte(sealLabel))
	if err != nil {
		return nil, nil, fmt.Errorf("capture: seal: encrypting the key: %w", err)
	}
	aead, err := newGCM(secret)
	if err != nil {
		return nil, nil, fmt.Errorf("capture: seal: %w", err)
	}
	encMeta = make([]byte, len(sealMagic)+nonceSize, sealOverhead+len(container))
	copy(encMeta, sealMagic)
	nonce := encMeta[len(sealMagic):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("capture: seal: drawing the nonce: %w", err)
	}
	encMeta = aead.Seal(encMeta, nonce, container, sealAD(sessionID, serverRandom))
	return encMeta, encSecret, nil
}

// Open decrypts a sealed capture container with the session's private key
// and checks that it was sealed for sessionID and serverRandom. Every
// failure returns [ErrDecrypt], with no detail; encMeta longer than
// [MaxSealedBytes] returns an error wrapping [ErrTooLarge] before any
// work. The result still has to be parsed ([Parse]).
func Open(priv *rsa.PrivateKey, sessionID, serverRandom string, encMeta, encSecret []byte) ([]byte, error) {
	if priv == nil {
		return nil, errors.New("capture: open: nil private key")
	}
	if len(encMeta) > MaxSealedBytes {
		return nil, fmt.Errorf("%w: sealed capture of %d bytes, at most %d", ErrTooLarge, len(encMeta), MaxSealedBytes)
	}
	if len(encMeta) < sealOverhead || string(encMeta[:len(sealMagic)]) != sealMagic ||
		len(encSecret) != priv.Size() ||
		checkText("sessionId", sessionID, 1, maxIDBytes) != nil ||
		checkText("serverRandom", serverRandom, 1, maxIDBytes) != nil {
		return nil, ErrDecrypt
	}
	secret, err := rsa.DecryptOAEP(sha256.New(), rand.Reader, priv, encSecret, []byte(sealLabel))
	if err != nil || len(secret) != secretSize {
		// Go on with a random key, which GCM will refuse, so that a bad
		// secret is not told from a bad ciphertext by the time taken.
		secret = make([]byte, secretSize)
		rand.Read(secret)
	}
	aead, err := newGCM(secret)
	if err != nil {
		return nil, ErrDecrypt
	}
	nonce := encMeta[len(sealMagic) : len(sealMagic)+nonceSize]
	sealed := encMeta[len(sealMagic)+nonceSize:]
	container, err := aead.Open(make([]byte, 0, len(sealed)-tagSize), nonce, sealed, sealAD(sessionID, serverRandom))
	if err != nil {
		return nil, ErrDecrypt
	}
	return container, nil
}

// newGCM returns AES-256-GCM under key (the service's one AEAD).
func newGCM(key []byte) (cipher.AEAD, error) { return envelope.NewGCM(key) }

// sealAD returns the GCM additional data binding a sealed capture to its
// session: label || 0x00 || sessionID || 0x00 || serverRandom.
func sealAD(sessionID, serverRandom string) []byte {
	ad := make([]byte, 0, len(sealLabel)+2+len(sessionID)+len(serverRandom))
	ad = append(ad, sealLabel...)
	ad = append(ad, 0)
	ad = append(ad, sessionID...)
	ad = append(ad, 0)
	return append(ad, serverRandom...)
}
