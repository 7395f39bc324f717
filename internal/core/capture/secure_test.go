package capture

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testSession = "sess-0123"
	testRandom  = "c2VydmVyLXJhbmRvbQ"
)

func TestSealOpenRoundTrip(t *testing.T) {
	priv, _ := testKeys(t)
	archive, err := Build(testManifest(5), testFrames(5, 3000))
	require.NoError(t, err)

	for _, container := range [][]byte{archive, {}, []byte("x")} {
		encMeta, encSecret, err := Seal(&priv.PublicKey, testSession, testRandom, container)
		require.NoError(t, err)
		assert.Len(t, encSecret, 256)
		assert.Len(t, encMeta, len(container)+32)
		assert.Equal(t, "FLC1", string(encMeta[:4]))
		if len(container) > 100 {
			assert.False(t, bytes.Contains(encMeta, container[:100]), "plaintext visible")
		}

		got, err := Open(priv, testSession, testRandom, encMeta, encSecret)
		require.NoError(t, err)
		assert.Equal(t, container, got)
	}

	// Two seals of one container differ (fresh key and nonce).
	m1, s1, err := Seal(&priv.PublicKey, testSession, testRandom, archive)
	require.NoError(t, err)
	m2, s2, err := Seal(&priv.PublicKey, testSession, testRandom, archive)
	require.NoError(t, err)
	assert.NotEqual(t, m1, m2)
	assert.NotEqual(t, s1, s2)

	// The opened container parses.
	plain, err := Open(priv, testSession, testRandom, m1, s1)
	require.NoError(t, err)
	c, err := Parse(plain, DefaultLimits())
	require.NoError(t, err)
	assert.Equal(t, testSession, c.Manifest.SessionID)
}

// TestOpenFormat opens a sealed capture made by hand from the documented
// wire format, as a client in another language would.
func TestOpenFormat(t *testing.T) {
	priv, _ := testKeys(t)
	container := []byte("a container")
	secret := bytes.Repeat([]byte{7}, 32)
	encSecret, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, secret, []byte("facelambda-capture-v1"))
	require.NoError(t, err)
	aead, err := newGCM(secret)
	require.NoError(t, err)
	nonce := bytes.Repeat([]byte{9}, 12)
	ad := []byte("facelambda-capture-v1\x00" + testSession + "\x00" + testRandom)
	encMeta := append(append([]byte("FLC1"), nonce...), aead.Seal(nil, nonce, container, ad)...)

	got, err := Open(priv, testSession, testRandom, encMeta, encSecret)
	require.NoError(t, err)
	assert.Equal(t, container, got)
}

func TestOpenRefuses(t *testing.T) {
	priv, other := testKeys(t)
	archive, err := Build(testManifest(2), testFrames(2, 500))
	require.NoError(t, err)
	encMeta, encSecret, err := Seal(&priv.PublicKey, testSession, testRandom, archive)
	require.NoError(t, err)
	otherMeta, otherSecret, err := Seal(&other.PublicKey, testSession, testRandom, archive)
	require.NoError(t, err)
	// A secret of the wrong length, validly encrypted.
	shortSecret, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, make([]byte, 16), []byte(sealLabel))
	require.NoError(t, err)
	// A secret encrypted under another OAEP label.
	secret := make([]byte, 32)
	otherLabel, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, secret, []byte("other"))
	require.NoError(t, err)

	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		if i < 0 {
			i += len(c)
		}
		c[i] ^= 0x01
		return c
	}
	for _, tc := range []struct {
		name               string
		key                *rsa.PrivateKey
		session, random    string
		encMeta, encSecret []byte
	}{
		{"magic", priv, testSession, testRandom, flip(encMeta, 0), encSecret},
		{"nonce", priv, testSession, testRandom, flip(encMeta, 4), encSecret},
		{"nonce end", priv, testSession, testRandom, flip(encMeta, 15), encSecret},
		{"ciphertext", priv, testSession, testRandom, flip(encMeta, 100), encSecret},
		{"tag", priv, testSession, testRandom, flip(encMeta, -1), encSecret},
		{"secret first byte", priv, testSession, testRandom, encMeta, flip(encSecret, 0)},
		{"secret last byte", priv, testSession, testRandom, encMeta, flip(encSecret, -1)},
		{"other session", priv, "sess-0124", testRandom, encMeta, encSecret},
		{"other server random", priv, testSession, testRandom + "x", encMeta, encSecret},
		{"swapped ids", priv, testRandom, testSession, encMeta, encSecret},
		{"shifted separator", priv, testSession + "\x00c2", "VydmVyLXJhbmRvbQ", encMeta, encSecret},
		{"other key pair", other, testSession, testRandom, encMeta, encSecret},
		{"other key's secret", priv, testSession, testRandom, encMeta, otherSecret},
		{"other key's capture", priv, testSession, testRandom, otherMeta, encSecret},
		{"truncated meta", priv, testSession, testRandom, encMeta[:len(encMeta)-1], encSecret},
		{"header only", priv, testSession, testRandom, encMeta[:32], encSecret},
		{"truncated secret", priv, testSession, testRandom, encMeta, encSecret[:255]},
		{"long secret", priv, testSession, testRandom, encMeta, append(bytes.Clone(encSecret), 0)},
		{"short key", priv, testSession, testRandom, encMeta, shortSecret},
		{"other label", priv, testSession, testRandom, encMeta, otherLabel},
		{"empty meta", priv, testSession, testRandom, nil, encSecret},
		{"empty secret", priv, testSession, testRandom, encMeta, nil},
		{"empty session", priv, "", testRandom, encMeta, encSecret},
		{"all empty", priv, "", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Open(tc.key, tc.session, tc.random, tc.encMeta, tc.encSecret)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, ErrDecrypt)
			assert.Equal(t, ErrDecrypt.Error(), err.Error(), "the message must not tell the cause")
		})
	}
}

func TestOpenTooLarge(t *testing.T) {
	priv, _ := testKeys(t)
	big := make([]byte, MaxSealedBytes+1)
	copy(big, "FLC1")
	_, err := Open(priv, testSession, testRandom, big, make([]byte, 256))
	require.ErrorIs(t, err, ErrTooLarge)
	assert.NotErrorIs(t, err, ErrDecrypt)

	_, err = Open(nil, testSession, testRandom, nil, nil)
	require.Error(t, err)
}

func TestSealRefuses(t *testing.T) {
	priv, _ := testKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	for _, tc := range []struct {
		name            string
		pub             *rsa.PublicKey
		session, random string
	}{
		{"nil key", nil, testSession, testRandom},
		{"1024-bit key", &small.PublicKey, testSession, testRandom},
		{"empty session", &priv.PublicKey, "", testRandom},
		{"empty random", &priv.PublicKey, testSession, ""},
		{"NUL in session", &priv.PublicKey, "a\x00b", testRandom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, s, err := Seal(tc.pub, tc.session, tc.random, []byte("x"))
			require.Error(t, err)
			assert.Nil(t, m)
			assert.Nil(t, s)
		})
	}
}

func TestKeys(t *testing.T) {
	priv, other := testKeys(t)
	assert.Equal(t, 2048, priv.N.BitLen())
	assert.NotEqual(t, priv.N, other.N)

	der, err := MarshalKey(priv)
	require.NoError(t, err)
	back, err := ParseKey(der)
	require.NoError(t, err)
	assert.True(t, priv.Equal(back))
	assert.False(t, other.Equal(back))

	_, err = MarshalKey(nil)
	require.Error(t, err)

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	smallDER, err := x509.MarshalPKCS8PrivateKey(small)
	require.NoError(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		der  []byte
		msg  string
	}{
		{"garbage", []byte("not DER"), "parse key"},
		{"empty", nil, "parse key"},
		{"truncated", der[:len(der)-10], "parse key"},
		{"PKCS1", x509.MarshalPKCS1PrivateKey(priv), "parse key"},
		{"1024 bits", smallDER, "1024 bits"},
		{"ECDSA", ecDER, "not an RSA key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey(tc.der)
			require.Error(t, err)
			assert.Nil(t, k)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestPublicJWK(t *testing.T) {
	priv, _ := testKeys(t)
	jwk := PublicJWK(&priv.PublicKey)
	assert.Equal(t, "RSA", jwk["kty"])
	assert.Equal(t, "RSA-OAEP-256", jwk["alg"])
	assert.Equal(t, "enc", jwk["use"])
	assert.Equal(t, "AQAB", jwk["e"])

	n, err := base64.RawURLEncoding.DecodeString(jwk["n"].(string))
	require.NoError(t, err)
	assert.Len(t, n, 256)
	assert.Equal(t, 0, new(big.Int).SetBytes(n).Cmp(priv.N), "modulus")

	assert.Nil(t, PublicJWK(nil))
}

func TestPublicPEM(t *testing.T) {
	priv, _ := testKeys(t)
	s, err := PublicPEM(&priv.PublicKey)
	require.NoError(t, err)
	block, rest := pem.Decode([]byte(s))
	require.NotNil(t, block)
	assert.Empty(t, rest)
	assert.Equal(t, "PUBLIC KEY", block.Type)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	require.NoError(t, err)
	assert.True(t, priv.PublicKey.Equal(pub))

	_, err = PublicPEM(nil)
	require.Error(t, err)
}

func TestParseJWK(t *testing.T) {
	priv, _ := testKeys(t)
	jwk := PublicJWK(&priv.PublicKey)
	pub, err := ParseJWK(jwk)
	require.NoError(t, err)
	assert.True(t, pub.Equal(&priv.PublicKey), "round trip")

	// Through JSON, as a client gets it.
	b, err := json.Marshal(jwk)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	pub, err = ParseJWK(m)
	require.NoError(t, err)
	assert.True(t, pub.Equal(&priv.PublicKey))

	for name, bad := range map[string]map[string]any{
		"not RSA":      {"kty": "EC", "n": jwk["n"], "e": jwk["e"]},
		"no modulus":   {"kty": "RSA", "e": jwk["e"]},
		"bad base64":   {"kty": "RSA", "n": "!!", "e": jwk["e"]},
		"small key":    {"kty": "RSA", "n": "AQAB", "e": jwk["e"]},
		"huge e":       {"kty": "RSA", "n": jwk["n"], "e": "AQABAQAB"},
		"e of one":     {"kty": "RSA", "n": jwk["n"], "e": "AQ"},
		"n not string": {"kty": "RSA", "n": 12, "e": jwk["e"]},
	} {
		_, err := ParseJWK(bad)
		assert.Error(t, err, name)
	}
}
