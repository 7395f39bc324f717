package signing

import (
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
)

// JWK is an RSA public key in JSON Web Key form (RFC 7517, 7518).
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid"`
	N   string `json:"n"` // modulus, base64url big-endian
	E   string `json:"e"` // public exponent, base64url big-endian
}

// JWKS is a JWK Set, the document served at /v2/.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// Lookup returns the key with id kid.
func (s JWKS) Lookup(kid string) (JWK, bool) {
	for _, k := range s.Keys {
		if k.Kid == kid {
			return k, true
		}
	}
	return JWK{}, false
}

// JWK returns the signer's public key as a JWK (use "sig", alg "RS256").
func (s *Signer) JWK() JWK { return s.jwk }

// JWKS returns the JWK Set of the signer's key.
func (s *Signer) JWKS() JWKS { return JWKSOf(s) }

// JWKSOf returns the JWK Set of several signers, as published during a key
// rotation: the current signer and the previous ones whose signatures must
// still verify. Nil signers and repeated kids are skipped.
func JWKSOf(signers ...*Signer) JWKS {
	set := JWKS{Keys: []JWK{}}
	for _, s := range signers {
		if s == nil {
			continue
		}
		if _, dup := set.Lookup(s.kid); dup {
			continue
		}
		set.Keys = append(set.Keys, s.JWK())
	}
	return set
}

// PublicKey decodes the key; it must be an RSA key of at least MinKeyBits
// bits.
func (k JWK) PublicKey() (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("signing: JWK kty %q, want RSA", k.Kty)
	}
	nb, err := b64Strict.DecodeString(k.N)
	if err != nil {
		return nil, fmt.Errorf("signing: JWK n: %w", err)
	}
	eb, err := b64Strict.DecodeString(k.E)
	if err != nil {
		return nil, fmt.Errorf("signing: JWK e: %w", err)
	}
	n := new(big.Int).SetBytes(nb)
	if bits := n.BitLen(); bits < MinKeyBits {
		return nil, fmt.Errorf("signing: JWK of %d bits, need at least %d", bits, MinKeyBits)
	}
	e := new(big.Int).SetBytes(eb)
	if e.BitLen() > 31 || e.Int64() < 3 || e.Bit(0) == 0 {
		return nil, errors.New("signing: JWK e: unsupported public exponent")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub: the base64url
// SHA-256 of {"e":"...","kty":"RSA","n":"..."}.
func Thumbprint(pub *rsa.PublicKey) string {
	n, e := encodePublic(pub)
	// Base64url needs no JSON escaping.
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return b64.EncodeToString(sum[:])
}

func encodePublic(pub *rsa.PublicKey) (n, e string) {
	return b64.EncodeToString(pub.N.Bytes()), b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
}
