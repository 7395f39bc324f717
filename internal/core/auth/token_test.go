package auth_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/fault"
)

func testTokens(t *testing.T, key string, now time.Time) *auth.Tokens {
	t.Helper()
	tk, err := auth.NewTokens([]byte(strings.Repeat(key, 32)), func() time.Time { return now })
	require.NoError(t, err)
	return tk
}

// TestTokenVerify: a token verifies on its key within its lifetime; an
// expired, tampered, foreign-key or malformed one is refused with its code.
func TestTokenVerify(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	iss := testTokens(t, "k", now)
	good, claims, err := iss.Issue("acme", "s1", 2*time.Minute, []string{"https://shop.example"})
	require.NoError(t, err)
	assert.Equal(t, now.Add(2*time.Minute), claims.ExpiresAt())
	assert.Len(t, claims.ID, 32)
	body, sig, _ := strings.Cut(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(body, auth.TokenPrefix))
	forged := auth.TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"acme"`, `"evil"`, 1))) + "." + sig
	flipped := body + "." + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return r
	}, sig[:4]) + sig[4:]
	if flipped == good {
		flipped = body + ".AAAA" + sig[4:]
	}
	for _, tc := range []struct {
		name  string
		token string
		at    time.Time
		key   string
		code  string
	}{
		{"valid", good, now.Add(time.Minute), "k", ""},
		{"expired", good, now.Add(2 * time.Minute), "k", fault.CodeTokenExpired},
		{"long expired", good, now.Add(time.Hour), "k", fault.CodeTokenExpired},
		{"issued in the future", good, now.Add(-time.Minute), "k", fault.CodeTokenInvalid},
		{"other key", good, now, "x", fault.CodeTokenInvalid},
		{"tampered claims", forged, now, "k", fault.CodeTokenInvalid},
		{"tampered signature", flipped, now, "k", fault.CodeTokenInvalid},
		{"no signature", body, now, "k", fault.CodeTokenInvalid},
		{"api key", "fl_abc", now, "k", fault.CodeTokenInvalid},
		{"garbage", auth.TokenPrefix + "!!.??", now, "k", fault.CodeTokenInvalid},
		{"too long", good + strings.Repeat("a", 3000), now, "k", fault.CodeTokenInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := testTokens(t, tc.key, tc.at).Verify(tc.token)
			if tc.code == "" {
				require.NoError(t, err)
				assert.Equal(t, claims, c)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.code, fault.As(err).Code)
		})
	}
}

func TestTokenIssueLifetime(t *testing.T) {
	iss := testTokens(t, "k", time.Unix(1e9, 0))
	for _, tc := range []struct {
		ttl  time.Duration
		want time.Duration
		ok   bool
	}{
		{0, auth.DefaultTokenTTL, true},
		{time.Second, time.Second, true},
		{auth.MaxTokenTTL, auth.MaxTokenTTL, true},
		{auth.MaxTokenTTL + time.Second, 0, false},
		{-time.Second, 0, false},
	} {
		_, c, err := iss.Issue("acme", "s", tc.ttl, nil)
		if !tc.ok {
			require.Error(t, err, "%v", tc.ttl)
			assert.Equal(t, fault.CodeInvalidRequest, fault.As(err).Code)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, c.ExpiresAt().Sub(time.Unix(c.IssuedAt, 0)))
	}
	_, err := auth.NewTokens([]byte("short"), nil)
	assert.Error(t, err)
}

func TestTokenOriginsAndRoutes(t *testing.T) {
	c := auth.TokenClaims{Session: "s1", Origins: []string{"https://shop.example"}}
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"", "api.example", true},
		{"https://shop.example", "api.example", true},
		{"https://api.example", "api.example", true},
		{"https://evil.example", "api.example", false},
		{"https://shop.example.evil", "api.example", false},
		{"null", "api.example", false},
	} {
		assert.Equal(t, tc.want, c.AllowsOrigin(tc.origin, tc.host), "%q", tc.origin)
	}
	assert.True(t, c.AllowsSession("s1"))
	assert.False(t, c.AllowsSession("s2"))
	ok, capture := auth.TokenRouteKind("POST", "/v2/bio-sessions/{id}/liveness-capture")
	assert.True(t, ok && capture)
	ok, capture = auth.TokenRouteKind("GET", "/v2/bio-sessions/{id}/liveness-parameters")
	assert.True(t, ok && !capture)
	ok, _ = auth.TokenRouteKind("GET", "/v2/bio-sessions/{id}/recording")
	assert.False(t, ok)
}

func TestParseOrigins(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
		ok   bool
	}{
		{nil, []string{}, true},
		{[]string{"https://shop.example", "https://shop.example:8443", "https://shop.example"}, []string{"https://shop.example", "https://shop.example:8443"}, true},
		{[]string{"http://localhost:3000"}, []string{"http://localhost:3000"}, true},
		{[]string{"http://shop.example"}, nil, false},
		{[]string{"https://shop.example/"}, nil, false},
		{[]string{"https://shop.example/path"}, nil, false},
		{[]string{"shop.example"}, nil, false},
		{[]string{"*"}, nil, false},
		{[]string{"https://user@shop.example"}, nil, false},
	} {
		got, err := auth.ParseOrigins(tc.in)
		if !tc.ok {
			assert.ErrorIs(t, err, auth.ErrInvalidOrigin, "%v", tc.in)
			continue
		}
		require.NoError(t, err, "%v", tc.in)
		assert.Equal(t, tc.want, got)
	}
}
