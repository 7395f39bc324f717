package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	_ SecretsManagerAPI = (*secretsmanager.Client)(nil)
	_ SSMAPI            = (*ssm.Client)(nil)
)

// Keys are generated once per test binary: RSA generation is slow.
var (
	testKey  = sync.OnceValue(func() *rsa.PrivateKey { return genKey(2048) })
	otherKey = sync.OnceValue(func() *rsa.PrivateKey { return genKey(2048) })
	smallKey = sync.OnceValue(func() *rsa.PrivateKey { return genKey(1024) })
)

func genKey(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func newTestSigner(t *testing.T, k *rsa.PrivateKey) *Signer {
	t.Helper()
	s, err := NewSigner(k)
	require.NoError(t, err)
	return s
}

func pkcs8PEM(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func pkcs1PEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func TestThumbprintRFC7638(t *testing.T) {
	// RFC 7638, section 3.1.
	jwk := JWK{
		Kty: "RSA",
		N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAt" +
			"VT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6" +
			"4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FD" +
			"W2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n9" +
			"1CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINH" +
			"aQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
		E:   "AQAB",
		Alg: "RS256",
		Kid: "2011-04-29",
	}
	pub, err := jwk.PublicKey()
	require.NoError(t, err)
	assert.Equal(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", Thumbprint(pub))
}

func TestNewSigner(t *testing.T) {
	s := newTestSigner(t, testKey())
	assert.Equal(t, Thumbprint(&testKey().PublicKey), s.KID())
	assert.Len(t, s.KID(), 43) // base64url of 32 bytes
	assert.Equal(t, &testKey().PublicKey, s.Public())

	_, err := NewSigner(nil)
	require.Error(t, err)
	_, err = NewSigner(smallKey())
	require.ErrorContains(t, err, "1024 bits")

	bad := *testKey()
	bad.D = big.NewInt(12345)
	_, err = NewSigner(&bad)
	require.ErrorContains(t, err, "invalid RSA key")
}

func TestJWKS(t *testing.T) {
	s := newTestSigner(t, testKey())
	o := newTestSigner(t, otherKey())
	require.NotEqual(t, s.KID(), o.KID())

	jwk := s.JWK()
	assert.Equal(t, "RSA", jwk.Kty)
	assert.Equal(t, "sig", jwk.Use)
	assert.Equal(t, "RS256", jwk.Alg)
	assert.Equal(t, "AQAB", jwk.E)
	assert.Equal(t, s.KID(), jwk.Kid)
	pub, err := jwk.PublicKey()
	require.NoError(t, err)
	assert.True(t, pub.Equal(s.Public()))

	b, err := json.Marshal(s.JWKS())
	require.NoError(t, err)
	assert.JSONEq(t, `{"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"`+s.KID()+`","n":"`+jwk.N+`","e":"AQAB"}]}`, string(b))

	set := JWKSOf(s, nil, o, s)
	require.Len(t, set.Keys, 2, "nil and repeated signers skipped")
	assert.Equal(t, s.KID(), set.Keys[0].Kid)
	assert.Equal(t, o.KID(), set.Keys[1].Kid)

	b, err = json.Marshal(JWKSOf())
	require.NoError(t, err)
	assert.JSONEq(t, `{"keys":[]}`, string(b))

	// Round trip through JSON.
	var back JWKS
	require.NoError(t, json.Unmarshal([]byte(mustJSON(t, set)), &back))
	assert.Equal(t, set, back)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestSignVerify(t *testing.T) {
	s := newTestSigner(t, testKey())
	o := newTestSigner(t, otherKey())
	payload := []byte(`{"score":0.97,"decision":"match"}`)

	jws, err := s.Sign(payload)
	require.NoError(t, err)
	parts := strings.Split(jws, ".")
	require.Len(t, parts, 3)
	for _, p := range parts {
		assert.NotContains(t, p, "=")
	}
	header, err := b64.DecodeString(parts[0])
	require.NoError(t, err)
	assert.Equal(t, `{"alg":"RS256","kid":"`+s.KID()+`","typ":"JOSE"}`, string(header))
	body, err := b64.DecodeString(parts[1])
	require.NoError(t, err)
	assert.Equal(t, payload, body)

	for name, keys := range map[string]JWKS{
		"own":      s.JWKS(),
		"rotation": JWKSOf(o, s),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Verify(jws, keys)
			require.NoError(t, err)
			assert.Equal(t, payload, got)
		})
	}

	// Empty payloads sign too.
	jws, err = s.Sign(nil)
	require.NoError(t, err)
	got, err := Verify(jws, s.JWKS())
	require.NoError(t, err)
	assert.Empty(t, got)
}

// forge returns a JWS of header and payload signed by sign over the
// signing input.
func forge(header, payload string, sign func(input []byte) []byte) string {
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64.EncodeToString(sig)
}

func TestVerifyRejects(t *testing.T) {
	s := newTestSigner(t, testKey())
	o := newTestSigner(t, otherKey())
	keys := s.JWKS()
	jws, err := s.Sign([]byte(`{"decision":"match"}`))
	require.NoError(t, err)
	parts := strings.Split(jws, ".")
	rs256 := func(k *rsa.PrivateKey) func([]byte) []byte {
		return func(input []byte) []byte {
			d := sha256.Sum256(input)
			sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:])
			require.NoError(t, err)
			return sig
		}
	}
	// HS256 "keyed" with the public key, the classic confusion attack.
	hs256 := func(input []byte) []byte {
		m := hmac.New(sha256.New, []byte(s.JWK().N))
		m.Write(input)
		return m.Sum(nil)
	}
	flip := func(p string) string {
		b, err := b64.DecodeString(p)
		require.NoError(t, err)
		b[len(b)/2] ^= 1
		return b64.EncodeToString(b)
	}
	kid := s.KID()

	tests := []struct {
		name string
		jws  string
		keys JWKS
		want error
	}{
		{"tampered payload", parts[0] + "." + b64.EncodeToString([]byte(`{"decision":"no_match"}`)) + "." + parts[2], keys, ErrSignature},
		{"flipped payload bit", parts[0] + "." + flip(parts[1]) + "." + parts[2], keys, ErrSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), keys, ErrSignature},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:40], keys, ErrSignature},
		{"empty signature", parts[0] + "." + parts[1] + ".", keys, ErrSignature},
		{"tampered header", b64.EncodeToString([]byte(`{"alg":"RS256","kid":"`+kid+`","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2], keys, ErrSignature},
		{"signed by other key", forge(`{"alg":"RS256","kid":"`+kid+`"}`, `{}`, rs256(otherKey())), keys, ErrSignature},
		{"unknown kid", mustSign(t, o, `{}`), keys, ErrUnknownKey},
		{"no kid", forge(`{"alg":"RS256"}`, `{}`, rs256(testKey())), keys, ErrUnknownKey},
		{"empty key set", jws, JWKS{}, ErrUnknownKey},
		{"alg none", forge(`{"alg":"none","kid":"`+kid+`"}`, `{"decision":"match"}`, nil), keys, ErrAlgorithm},
		{"alg None", forge(`{"alg":"None"}`, `{"decision":"match"}`, nil), keys, ErrAlgorithm},
		{"alg HS256", forge(`{"alg":"HS256","kid":"`+kid+`"}`, `{"decision":"match"}`, hs256), keys, ErrAlgorithm},
		{"alg RS512", forge(`{"alg":"RS512","kid":"`+kid+`"}`, `{}`, rs256(testKey())), keys, ErrAlgorithm},
		{"alg missing", forge(`{"kid":"`+kid+`"}`, `{}`, rs256(testKey())), keys, ErrAlgorithm},
		{"crit header", forge(`{"alg":"RS256","kid":"`+kid+`","crit":["exp"],"exp":1}`, `{}`, rs256(testKey())), keys, ErrAlgorithm},
		{"two parts", parts[0] + "." + parts[1], keys, ErrMalformed},
		{"four parts", jws + ".x", keys, ErrMalformed},
		{"empty", "", keys, ErrMalformed},
		{"padded", parts[0] + "=." + parts[1] + "." + parts[2], keys, ErrMalformed},
		{"std base64", parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+", keys, ErrMalformed},
		{"header not JSON", b64.EncodeToString([]byte("RS256")) + "." + parts[1] + "." + parts[2], keys, ErrMalformed},
		{"key for encryption", jws, JWKS{Keys: []JWK{withUse(s.JWK(), "enc")}}, ErrUnknownKey},
		{"key for PS256", jws, JWKS{Keys: []JWK{withAlg(s.JWK(), "PS256")}}, ErrUnknownKey},
		{"small key in set", forge(`{"alg":"RS256","kid":"small"}`, `{}`, rs256(smallKey())), JWKS{Keys: []JWK{smallJWK()}}, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, err := Verify(tt.jws, tt.keys)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, payload)
		})
	}
}

func mustSign(t *testing.T, s *Signer, payload string) string {
	t.Helper()
	jws, err := s.Sign([]byte(payload))
	require.NoError(t, err)
	return jws
}

func withUse(k JWK, use string) JWK { k.Use = use; return k }
func withAlg(k JWK, alg string) JWK { k.Alg = alg; return k }

func smallJWK() JWK {
	n, e := encodePublic(&smallKey().PublicKey)
	return JWK{Kty: "RSA", Kid: "small", N: n, E: e}
}

func TestJWKPublicKeyRejects(t *testing.T) {
	good := JWK{Kty: "RSA", N: b64.EncodeToString(testKey().N.Bytes()), E: "AQAB"}
	tests := []struct {
		name string
		jwk  JWK
	}{
		{"kty EC", JWK{Kty: "EC", N: good.N, E: good.E}},
		{"bad n", JWK{Kty: "RSA", N: "!!", E: good.E}},
		{"bad e", JWK{Kty: "RSA", N: good.N, E: "!!"}},
		{"e one", JWK{Kty: "RSA", N: good.N, E: "AQ"}},
		{"e even", JWK{Kty: "RSA", N: good.N, E: "AQAA"}},
		{"e huge", JWK{Kty: "RSA", N: good.N, E: "AQAAAAAB"}},
		{"small n", smallJWK()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.jwk.PublicKey()
			require.Error(t, err)
		})
	}
	_, err := good.PublicKey()
	require.NoError(t, err)
}

type resource struct {
	ID        string             `json:"id"`
	Score     float64            `json:"score"`
	Decision  string             `json:"decision"`
	Note      string             `json:"note,omitempty"`
	Details   map[string]any     `json:"details,omitempty"`
	Nested    *resource          `json:"nested,omitempty"`
	Counts    map[string]float64 `json:"counts,omitempty"`
	Signature string             `json:"signature,omitempty"`
}

func TestSignResource(t *testing.T) {
	s := newTestSigner(t, testKey())
	tests := []struct {
		name string
		v    any
		want string // the exact signed payload
	}{
		{
			name: "signature dropped, members sorted",
			v:    resource{ID: "r1", Score: 0.925, Decision: "match", Signature: "eyJ.old.sig"},
			want: `{"decision":"match","id":"r1","score":0.925}`,
		},
		{
			name: "nested objects sorted, nested signature kept, html not escaped",
			v: resource{
				ID: "r2", Score: 1e-7, Decision: "no_match", Note: "a<b & c>d \u00e9",
				Details: map[string]any{"z": 1, "a": []any{true, nil, "x"}},
				Nested:  &resource{ID: "n", Signature: "inner"},
			},
			want: `{"decision":"no_match","details":{"a":[true,null,"x"],"z":1},"id":"r2",` +
				`"nested":{"decision":"","id":"n","score":0,"signature":"inner"},"note":"a<b & c>d é","score":1e-7}`,
		},
		{
			name: "map resource",
			v:    map[string]any{"signature": "x", "b": 2, "a": 1},
			want: `{"a":1,"b":2}`,
		},
		{
			name: "raw JSON keeps number text",
			v:    json.RawMessage(`{ "big": 12345678901234567890, "f": 1.50, "signature": null }`),
			want: `{"big":12345678901234567890,"f":1.50}`,
		},
		{
			name: "not an object",
			v:    []string{"signature"},
			want: `["signature"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canon, err := Canonical(tt.v)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(canon))

			jws, err := s.SignResource(tt.v)
			require.NoError(t, err)
			payload, err := Verify(jws, s.JWKS())
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(payload))

			// What a verifier does: the payload equals the resource's JSON
			// minus "signature", compared as JSON values.
			body, err := json.Marshal(tt.v)
			require.NoError(t, err)
			var m any
			require.NoError(t, json.Unmarshal(body, &m))
			if obj, ok := m.(map[string]any); ok {
				delete(obj, "signature")
			}
			assert.JSONEq(t, mustJSON(t, m), string(payload))
		})
	}

	// Setting the signature does not change what is signed.
	r := resource{ID: "r1", Score: 0.5, Decision: "match"}
	jws, err := s.SignResource(r)
	require.NoError(t, err)
	r.Signature = jws
	again, err := Canonical(r)
	require.NoError(t, err)
	payload, err := Verify(jws, s.JWKS())
	require.NoError(t, err)
	assert.Equal(t, string(again), string(payload))

	_, err = s.SignResource(make(chan int))
	require.Error(t, err)
}

func TestFromPEM(t *testing.T) {
	want := Thumbprint(&testKey().PublicKey)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not really")})
	escaped := strings.ReplaceAll(string(pkcs8PEM(t, testKey())), "\n", `\n`)

	tests := []struct {
		name    string
		pem     []byte
		wantErr string
	}{
		{"pkcs8", pkcs8PEM(t, testKey()), ""},
		{"pkcs1", pkcs1PEM(testKey()), ""},
		{"after certificate", append(cert, pkcs1PEM(testKey())...), ""},
		{"escaped newlines", []byte(escaped), ""},
		{"surrounding text", []byte("key:\n" + string(pkcs8PEM(t, testKey())) + "end\n"), ""},
		{"empty", nil, "no PEM private key"},
		{"garbage", []byte("definitely not a key"), "no PEM private key"},
		{"certificate only", cert, "no PEM private key"},
		{"bad DER", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "parse PRIVATE KEY"},
		{"bad PKCS1 DER", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "parse RSA PRIVATE KEY"},
		{"small pkcs8", pkcs8PEM(t, smallKey()), "1024 bits"},
		{"small pkcs1", pkcs1PEM(smallKey()), "1024 bits"},
		{"ecdsa", pkcs8PEM(t, ec), "not an RSA private key"},
		{"encrypted", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "encrypted"},
		{"legacy encrypted", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}), "encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := FromPEM(tt.pem)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Nil(t, s)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want, s.KID())
		})
	}
}

func TestLoadOrCreateLocal(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".data", "keys", "signing-key.pem")

	s1, err := LoadOrCreateLocal(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	assert.Equal(t, 2048, s1.Public().N.BitLen())
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	assert.Equal(t, "PRIVATE KEY", block.Type)

	s2, err := LoadOrCreateLocal(path)
	require.NoError(t, err)
	assert.Equal(t, s1.KID(), s2.KID())

	// A signature made before the restart verifies with the reloaded key.
	jws := mustSign(t, s1, `{"a":1}`)
	_, err = Verify(jws, s2.JWKS())
	require.NoError(t, err)
}

func TestLoadOrCreateLocalExisting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pkcs1.pem")
	require.NoError(t, os.WriteFile(path, pkcs1PEM(testKey()), 0o600))
	s, err := LoadOrCreateLocal(path)
	require.NoError(t, err)
	assert.Equal(t, Thumbprint(&testKey().PublicKey), s.KID())

	// A corrupt key file is an error, never silently replaced.
	bad := filepath.Join(dir, "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("garbage"), 0o600))
	_, err = LoadOrCreateLocal(bad)
	require.ErrorContains(t, err, bad)
	data, err := os.ReadFile(bad)
	require.NoError(t, err)
	assert.Equal(t, "garbage", string(data))
}

func TestLoadLocal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.pem")
	require.NoError(t, os.WriteFile(path, pkcs8PEM(t, testKey()), 0o600))
	s, err := Load(context.Background(), Source{File: path})
	require.NoError(t, err)
	assert.Equal(t, Thumbprint(&testKey().PublicKey), s.KID())

	// Default: .data/signing-key.pem under the working directory.
	wd := t.TempDir()
	t.Chdir(wd)
	s, err = Load(context.Background(), Source{})
	require.NoError(t, err)
	fi, err := os.Stat(filepath.Join(wd, DefaultKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	again, err := Load(context.Background(), Source{})
	require.NoError(t, err)
	assert.Equal(t, s.KID(), again.KID())
}

type fakeSecrets struct {
	out   *secretsmanager.GetSecretValueOutput
	err   error
	input *secretsmanager.GetSecretValueInput
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.input = in
	return f.out, f.err
}

func TestLoadSecretsManager(t *testing.T) {
	want := Thumbprint(&testKey().PublicKey)
	boom := errors.New("AccessDeniedException")
	tests := []struct {
		name    string
		out     *secretsmanager.GetSecretValueOutput
		err     error
		wantErr string
	}{
		{"string", &secretsmanager.GetSecretValueOutput{SecretString: aws.String(string(pkcs8PEM(t, testKey())))}, nil, ""},
		{"binary", &secretsmanager.GetSecretValueOutput{SecretBinary: pkcs1PEM(testKey())}, nil, ""},
		{"no value", &secretsmanager.GetSecretValueOutput{}, nil, "has no value"},
		{"not a key", &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"user":"x"}`)}, nil, "no PEM private key"},
		{"small key", &secretsmanager.GetSecretValueOutput{SecretString: aws.String(string(pkcs1PEM(smallKey())))}, nil, "1024 bits"},
		{"api error", nil, boom, "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSecrets{out: tt.out, err: tt.err}
			s, err := LoadSecretsManager(context.Background(), f, "facelambda/signing-key")
			require.NotNil(t, f.input)
			assert.Equal(t, "facelambda/signing-key", aws.ToString(f.input.SecretId))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.ErrorContains(t, err, "facelambda/signing-key")
				if tt.err != nil {
					assert.ErrorIs(t, err, tt.err)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want, s.KID())
		})
	}
}

type fakeSSM struct {
	out   *ssm.GetParameterOutput
	err   error
	input *ssm.GetParameterInput
}

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.input = in
	return f.out, f.err
}

func TestLoadSSM(t *testing.T) {
	want := Thumbprint(&testKey().PublicKey)
	boom := errors.New("ParameterNotFound")
	param := func(v string) *ssm.GetParameterOutput {
		return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(v)}}
	}
	tests := []struct {
		name    string
		out     *ssm.GetParameterOutput
		err     error
		wantErr string
	}{
		{"pem", param(string(pkcs8PEM(t, testKey()))), nil, ""},
		{"escaped pem", param(strings.ReplaceAll(string(pkcs1PEM(testKey())), "\n", `\n`)), nil, ""},
		{"no parameter", &ssm.GetParameterOutput{}, nil, "has no value"},
		{"no value", &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{}}, nil, "has no value"},
		{"garbage", param("hunter2"), nil, "no PEM private key"},
		{"api error", nil, boom, "ParameterNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSSM{out: tt.out, err: tt.err}
			s, err := LoadSSM(context.Background(), f, "/facelambda/signing-key")
			require.NotNil(t, f.input)
			assert.Equal(t, "/facelambda/signing-key", aws.ToString(f.input.Name))
			assert.True(t, aws.ToBool(f.input.WithDecryption))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.ErrorContains(t, err, "/facelambda/signing-key")
				if tt.err != nil {
					assert.ErrorIs(t, err, tt.err)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want, s.KID())
		})
	}
}
