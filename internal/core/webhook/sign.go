package webhook

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/envelope"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock for Verify.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify and Decrypt.
var (
	ErrMissingHeaders = errors.New("webhook-id, webhook-timestamp or webhook-signature missing")
	ErrTimestamp      = errors.New("webhook-timestamp too old, too new or not a number")
	ErrSignature      = errors.New("no matching webhook signature")
	ErrNotEncrypted   = errors.New("body is not an encrypted webhook body")
	ErrNoKey          = errors.New("body is not encrypted for this secret")
	ErrDecrypt        = errors.New("body does not decrypt (wrong secret, webhook-id or tampered)")
)

// signContent is what is signed: "<id>.<timestamp>.<body>".
func signContent(id string, ts int64, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(body)+24)
	b = append(b, id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	return append(b, body...)
}

func sign(key []byte, content []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(content)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns the webhook-signature header of a message for secrets
// (each a "whsec_..." secret): one "v1,<base64 HMAC-SHA256>" entry per
// secret, separated by spaces.
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	content := signContent(id, ts.Unix(), body)
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := secretKeyBytes(s)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sign(key, content))
	}
	return strings.Join(sigs, " "), nil
}

// Verify checks a webhook request against one secret: the
// webhook-signature header must hold a v1 signature of
// "<webhook-id>.<webhook-timestamp>.<body>" by the secret, and the
// timestamp must be within DefaultTolerance of the local clock. body is
// the request body exactly as received (encrypted, if it is).
func Verify(secret string, h http.Header, body []byte) error {
	return VerifyAt(secret, h, body, time.Now(), DefaultTolerance)
}

// VerifyAt is Verify at a given time and tolerance.
func VerifyAt(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKeyBytes(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := []byte(sign(key, signContent(id, ts, body)))
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return ErrSignature
}

// Body encryption (encryptMessageBody). The key is derived from a secret's
// key bytes (the base64 after "whsec_", decoded):
//
//	key = HKDF-SHA256(ikm = key bytes, salt = none, info = BodyKeyInfo, 32 bytes)
//	kid = hex(HKDF-SHA256(ikm = key bytes, salt = none, info = KeyIDInfo, 8 bytes))
//
// and the event's JSON is sealed with AES-256-GCM under a random 12-byte
// nonce, with the webhook-id as additional data. The body sent is
//
//	{"alg":"A256GCM","kid":"...","nonce":"<base64>","ciphertext":"<base64 of ciphertext||tag>"}
//
// for the webhook's newest secret; while an older secret is still active
// (24 hours after a rotation) "previous" lists the same event sealed for
// each older secret ([{"kid","nonce","ciphertext"}]), so a receiver that
// has not switched to the new secret yet can still decrypt.
const (
	BodyKeyInfo = "facelambda webhook body encryption v1"
	KeyIDInfo   = "facelambda webhook key id v1"
	AlgA256GCM  = "A256GCM"
)

// EncryptedBody is the body of a webhook with encryptMessageBody.
type EncryptedBody struct {
	Alg string `json:"alg"`
	SealedBody
	Previous []SealedBody `json:"previous,omitempty"`
}

// SealedBody is the event sealed for one secret.
type SealedBody struct {
	KID        string `json:"kid"`
	Nonce      string `json:"nonce"`
	Ciphertext string `json:"ciphertext"`
}

// bodyKey returns the body key and key id of a secret.
func bodyKey(secret string) (key []byte, kid string, err error) {
	ikm, err := secretKeyBytes(secret)
	if err != nil {
		return nil, "", err
	}
	key, err = hkdf.Key(sha256.New, ikm, nil, BodyKeyInfo, 32)
	if err != nil {
		return nil, "", err
	}
	id, err := hkdf.Key(sha256.New, ikm, nil, KeyIDInfo, 8)
	if err != nil {
		return nil, "", err
	}
	return key, hex.EncodeToString(id), nil
}

// EncryptBody returns the encrypted body of a message: sealed for
// secrets[0] (the newest), and in "previous" for the others.
func EncryptBody(secrets []string, id string, plaintext []byte) ([]byte, error) {
	if len(secrets) == 0 {
		return nil, errors.New("encrypt body: no secret")
	}
	out := EncryptedBody{Alg: AlgA256GCM}
	for i, s := range secrets {
		key, kid, err := bodyKey(s)
		if err != nil {
			return nil, err
		}
		a, err := envelope.NewGCM(key)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, a.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		sb := SealedBody{
			KID:        kid,
			Nonce:      base64.StdEncoding.EncodeToString(nonce),
			Ciphertext: base64.StdEncoding.EncodeToString(a.Seal(nil, nonce, plaintext, []byte(id))),
		}
		if i == 0 {
			out.SealedBody = sb
		} else {
			out.Previous = append(out.Previous, sb)
		}
	}
	return json.Marshal(out)
}

// Decrypt returns the event JSON of an encrypted webhook body, given the
// receiver's secret and the request's webhook-id header. Verify the
// signature (over the encrypted body, as received) first.
func Decrypt(secret, id string, body []byte) ([]byte, error) {
	var eb EncryptedBody
	if err := json.Unmarshal(body, &eb); err != nil || eb.Alg != AlgA256GCM || eb.Ciphertext == "" {
		return nil, ErrNotEncrypted
	}
	key, kid, err := bodyKey(secret)
	if err != nil {
		return nil, err
	}
	var sb *SealedBody
	for _, c := range append([]SealedBody{eb.SealedBody}, eb.Previous...) {
		if c.KID == kid {
			sb = &c
			break
		}
	}
	if sb == nil {
		return nil, ErrNoKey
	}
	nonce, err1 := base64.StdEncoding.DecodeString(sb.Nonce)
	ct, err2 := base64.StdEncoding.DecodeString(sb.Ciphertext)
	if err1 != nil || err2 != nil {
		return nil, ErrNotEncrypted
	}
	a, err := envelope.NewGCM(key)
	if err != nil {
		return nil, err
	}
	if len(nonce) != a.NonceSize() {
		return nil, ErrNotEncrypted
	}
	pt, err := a.Open(nil, nonce, ct, []byte(id))
	if err != nil {
		return nil, fmt.Errorf("%w", ErrDecrypt)
	}
	return pt, nil
}
