// Package signing signs the service's results so that an integrator can
// prove where a result came from, and publishes the keys that verify them.
//
// # Signed resources
//
// A signed resource (a match result, say) is a JSON object with a top-level
// "signature" member whose value is a JWS in compact serialisation (RFC
// 7515):
//
//	BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature)
//
// with base64url without padding, the header exactly
//
//	{"alg":"RS256","kid":"<kid>","typ":"JOSE"}
//
// and the signature RSASSA-PKCS1-v1_5 with SHA-256 (RS256, RFC 7518) over
// the ASCII bytes BASE64URL(header) "." BASE64URL(payload). The kid is the
// RFC 7638 thumbprint of the public key.
//
// The payload is the resource without its "signature" member, in this
// canonical form (SignResource): the resource's JSON re-encoded with the
// members of every object sorted by name (byte order of their UTF-8), no
// insignificant white space, numbers as the resource wrote them, strings
// escaped as encoding/json does except that '<', '>' and '&' are left as
// they are. Only the top-level "signature" member is removed; an object
// nested deeper keeps any member of that name.
//
// The JWS carries its payload, so a verifier never rebuilds the signed
// bytes: it verifies the JWS and uses its payload, the signed statement.
// It may also check that the payload says what the response body says, by
// comparing the payload with the body minus "signature" as JSON values
// (parsed, not byte by byte: the body may order members differently).
//
// # Claims
//
// A signature says who made a statement, not what it is about. A signed
// decision (match, verification, identification, liveness verdict) also
// carries [Claims] as members of the resource, so of the payload: the
// tenant, the SHA-256 digests of what was compared or judged ([Subject]),
// the request id and the issue time. A verifier checks them against its
// own request before trusting the decision.
//
// # Keys
//
// The public keys are published as a JWK Set (RFC 7517) at
// /v2/.well-known/jwks.json; JWKSOf publishes several keys during a
// rotation. Verify checks a JWS against such a set. The private key comes
// from Secrets Manager or SSM Parameter Store on AWS and from a PEM file
// under .data/ for the local server (Load).
package signing

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MinKeyBits is the smallest RSA modulus the package signs or verifies with.
const MinKeyBits = 2048

// Alg is the only JWS algorithm signed and accepted.
const Alg = "RS256"

// Errors of Verify (wrapped, test with errors.Is).
var (
	// ErrMalformed: not a compact JWS, or a part does not decode.
	ErrMalformed = errors.New("malformed JWS")
	// ErrAlgorithm: the header names an algorithm other than RS256
	// ("none", "HS256"...) or a critical extension.
	ErrAlgorithm = errors.New("unsupported JWS algorithm")
	// ErrUnknownKey: no usable key of the JWKS has the header's kid.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("invalid signature")
)

var b64 = base64.RawURLEncoding

// b64Strict rejects padding and non-zero trailing bits, so a JWS has one
// encoding only.
var b64Strict = base64.RawURLEncoding.Strict()

// Signer signs with an RSA private key of at least MinKeyBits bits.
type Signer struct {
	key    *rsa.PrivateKey
	kid    string
	header string // base64url of the JWS header
	jwk    JWK    // the public key, published in every JWKS
}

type jwsHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid,omitempty"`
	Typ  string          `json:"typ,omitempty"`
	Crit json.RawMessage `json:"crit,omitempty"`
}

// NewSigner returns a signer of key, whose kid is the key's RFC 7638
// thumbprint.
func NewSigner(key *rsa.PrivateKey) (*Signer, error) {
	if key == nil {
		return nil, errors.New("signing: nil private key")
	}
	if bits := key.N.BitLen(); bits < MinKeyBits {
		return nil, fmt.Errorf("signing: RSA key of %d bits, need at least %d", bits, MinKeyBits)
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("signing: invalid RSA key: %w", err)
	}
	kid := Thumbprint(&key.PublicKey)
	h, err := json.Marshal(jwsHeader{Alg: Alg, Kid: kid, Typ: "JOSE"})
	if err != nil {
		return nil, fmt.Errorf("signing: encode header: %w", err)
	}
	n, e := encodePublic(&key.PublicKey)
	return &Signer{key: key, kid: kid, header: b64.EncodeToString(h),
		jwk: JWK{Kty: "RSA", Use: "sig", Alg: Alg, Kid: kid, N: n, E: e}}, nil
}

// KID returns the key id: the RFC 7638 thumbprint of the public key.
func (s *Signer) KID() string { return s.kid }

// Public returns the public key.
func (s *Signer) Public() *rsa.PublicKey { return &s.key.PublicKey }

// Sign returns the compact JWS (RS256) of payload.
func (s *Signer) Sign(payload []byte) (string, error) {
	input := s.header + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing: sign: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// SignResource returns the compact JWS of v's canonical JSON without a
// top-level "signature" member (see the package documentation), to be
// set as v's "signature".
func (s *Signer) SignResource(v any) (string, error) {
	payload, err := Canonical(v)
	if err != nil {
		return "", err
	}
	return s.Sign(payload)
}

// Canonical returns the bytes SignResource signs for v: v's JSON without a
// top-level "signature" member, in the canonical form of the package
// documentation.
func Canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("signing: encode resource: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("signing: decode resource: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("signing: decode resource: trailing data")
	}
	if obj, ok := doc.(map[string]any); ok {
		delete(obj, "signature")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("signing: encode canonical resource: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Verify checks a compact JWS against keys and returns its payload. Only
// RS256 is accepted: "none", HMAC and every other algorithm are rejected
// whatever the key, as is a header with critical extensions. The key is
// the JWKS entry with the header's kid; it must be an RSA key of at least
// MinKeyBits bits, and its "use" and "alg", when present, must be "sig"
// and "RS256".
func Verify(jws string, keys JWKS) ([]byte, error) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("signing: verify: %w: %d parts, want 3", ErrMalformed, len(parts))
	}
	hb, err := b64Strict.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("signing: verify: %w: header: %v", ErrMalformed, err)
	}
	var h jwsHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("signing: verify: %w: header: %v", ErrMalformed, err)
	}
	if h.Alg != Alg {
		return nil, fmt.Errorf("signing: verify: %w %q, want %s", ErrAlgorithm, h.Alg, Alg)
	}
	if len(h.Crit) > 0 {
		return nil, fmt.Errorf("signing: verify: %w: critical header extensions %s", ErrAlgorithm, h.Crit)
	}
	payload, err := b64Strict.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("signing: verify: %w: payload: %v", ErrMalformed, err)
	}
	sig, err := b64Strict.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signing: verify: %w: signature: %v", ErrMalformed, err)
	}
	jwk, ok := keys.Lookup(h.Kid)
	if !ok || h.Kid == "" {
		return nil, fmt.Errorf("signing: verify: %w: kid %q", ErrUnknownKey, h.Kid)
	}
	if (jwk.Use != "" && jwk.Use != "sig") || (jwk.Alg != "" && jwk.Alg != Alg) {
		return nil, fmt.Errorf("signing: verify: %w: kid %q is for use %q, alg %q", ErrUnknownKey, h.Kid, jwk.Use, jwk.Alg)
	}
	pub, err := jwk.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("signing: verify: %w: kid %q: %v", ErrUnknownKey, h.Kid, err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return nil, fmt.Errorf("signing: verify: %w", ErrSignature)
	}
	return payload, nil
}
