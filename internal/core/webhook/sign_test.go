package webhook_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/webhook"
)

func headers(id string, ts time.Time, sig string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(webhook.HeaderSignature, sig)
	return h
}

func TestSignVerify(t *testing.T) {
	s1, s2 := webhook.NewSecret(), webhook.NewSecret()
	require.True(t, strings.HasPrefix(s1, "whsec_"))
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s1, "whsec_"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(raw), 24)
	assert.NotEqual(t, s1, s2)

	body := []byte(`{"id":"evt_1","type":"match.completed"}`)
	now := time.Now()
	sig, err := webhook.Sign([]string{s1, s2}, "evt_1", now, body)
	require.NoError(t, err)
	assert.Len(t, strings.Fields(sig), 2)
	for _, f := range strings.Fields(sig) {
		assert.True(t, strings.HasPrefix(f, "v1,"), f)
	}
	h := headers("evt_1", now, sig)
	assert.NoError(t, webhook.Verify(s1, h, body))
	assert.NoError(t, webhook.Verify(s2, h, body))
	assert.ErrorIs(t, webhook.Verify(webhook.NewSecret(), h, body), webhook.ErrSignature)
	assert.ErrorIs(t, webhook.Verify(s1, h, append(body, ' ')), webhook.ErrSignature)
	assert.ErrorIs(t, webhook.Verify(s1, headers("evt_2", now, sig), body), webhook.ErrSignature)
	assert.ErrorIs(t, webhook.Verify(s1, headers("evt_1", now.Add(time.Second), sig), body), webhook.ErrSignature)

	old := now.Add(-10 * time.Minute)
	sig, err = webhook.Sign([]string{s1}, "evt_1", old, body)
	require.NoError(t, err)
	assert.ErrorIs(t, webhook.Verify(s1, headers("evt_1", old, sig), body), webhook.ErrTimestamp)
	assert.NoError(t, webhook.VerifyAt(s1, headers("evt_1", old, sig), body, old, time.Minute))
	assert.ErrorIs(t, webhook.Verify(s1, http.Header{}, body), webhook.ErrMissingHeaders)
	assert.ErrorIs(t, webhook.Verify("nope", h, body), webhook.ErrBadSecret)
	_, err = webhook.Sign([]string{"whsec_c2hvcnQ="}, "evt_1", now, body)
	assert.ErrorIs(t, err, webhook.ErrBadSecret, "a secret under 24 bytes")
}

// TestStandardWebhooksVector checks the signature against the example of
// the Standard Webhooks specification.
func TestStandardWebhooksVector(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	ts := time.Unix(1614265330, 0)
	sig, err := webhook.Sign([]string{secret}, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	require.NoError(t, err)
	assert.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", sig)
}

func TestEncryptDecrypt(t *testing.T) {
	s1, s2 := webhook.NewSecret(), webhook.NewSecret()
	plain := []byte(`{"id":"evt_1","data":{"score":0.9}}`)
	body, err := webhook.EncryptBody([]string{s2, s1}, "evt_1", plain)
	require.NoError(t, err)
	assert.NotContains(t, string(body), "score")
	var eb webhook.EncryptedBody
	require.NoError(t, json.Unmarshal(body, &eb))
	assert.Equal(t, "A256GCM", eb.Alg)
	assert.Len(t, eb.Previous, 1)

	for _, s := range []string{s1, s2} {
		got, err := webhook.Decrypt(s, "evt_1", body)
		require.NoError(t, err)
		assert.Equal(t, plain, got)
		got, err = stdlibDecrypt(s, "evt_1", body)
		require.NoError(t, err, "the receiver of docs/webhooks.md")
		assert.Equal(t, plain, got)
	}
	_, err = webhook.Decrypt(webhook.NewSecret(), "evt_1", body)
	assert.ErrorIs(t, err, webhook.ErrNoKey)
	_, err = webhook.Decrypt(s1, "evt_2", body)
	assert.ErrorIs(t, err, webhook.ErrDecrypt, "the webhook-id is additional data")
	_, err = webhook.Decrypt(s1, "evt_1", plain)
	assert.ErrorIs(t, err, webhook.ErrNotEncrypted)

	tampered := strings.Replace(string(body), eb.Ciphertext[:8], "AAAAAAAA", 1)
	_, err = webhook.Decrypt(s2, "evt_1", []byte(tampered))
	assert.ErrorIs(t, err, webhook.ErrDecrypt)
}

// stdlibDecrypt is the decryption of docs/webhooks.md, with the standard
// library only.
func stdlibDecrypt(secret, webhookID string, body []byte) ([]byte, error) {
	ikm, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, err
	}
	key, _ := hkdf.Key(sha256.New, ikm, nil, "facelambda webhook body encryption v1", 32)
	kidBytes, _ := hkdf.Key(sha256.New, ikm, nil, "facelambda webhook key id v1", 8)
	kid := hex.EncodeToString(kidBytes)
	type sealed struct{ KID, Nonce, Ciphertext string }
	var msg struct {
		Alg string
		sealed
		Previous []sealed
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, err
	}
	for _, s := range append([]sealed{msg.sealed}, msg.Previous...) {
		if s.KID != kid {
			continue
		}
		nonce, _ := base64.StdEncoding.DecodeString(s.Nonce)
		ct, _ := base64.StdEncoding.DecodeString(s.Ciphertext)
		block, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(block)
		return gcm.Open(nil, nonce, ct, []byte(webhookID))
	}
	return nil, webhook.ErrNoKey
}

// stdlibVerify is the signature check of docs/webhooks.md.
func stdlibVerify(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}
