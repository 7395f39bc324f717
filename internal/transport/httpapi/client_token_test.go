package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/fault"
)

// tokenCall sends a request with an Authorization: Bearer credential and
// an optional Origin, returning the status, the error code ("" when the
// body is no error object) and the response.
func (a *api) tokenCall(method, path, body, bearer, origin string) (int, string, *http.Response) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	require.NoError(a.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	var e struct{ Code string }
	_ = json.Unmarshal(out, &e)
	return res.StatusCode, e.Code, res
}

// clientToken asks for a token of session sid with key.
func (a *api) clientToken(key, sid, body string) map[string]any {
	a.t.Helper()
	return a.object("POST", "/v2/bio-sessions/"+sid+"/client-token", "application/json", []byte(body), key, 201)
}

// isTokenRefusal reports a refusal by the authentication, not by the
// handler behind it.
func isTokenRefusal(code string) bool {
	return strings.HasPrefix(code, "TOKEN_") || code == fault.CodeUnauthenticated || code == fault.CodeForbidden
}

// TestClientTokenIssue: the backend gets a token for a session of its
// tenant with a key holding the liveness scope; bad lifetimes, unknown
// sessions, keys without the scope and tokens themselves are refused.
func TestClientTokenIssue(t *testing.T) {
	a := newFakeAPI(t)
	sid := a.session(a.key, `{}`)["id"].(string)
	before := time.Now()
	m := a.clientToken(a.key, sid, `{"ttlSeconds":120}`)
	assert.True(t, strings.HasPrefix(m["token"].(string), auth.TokenPrefix))
	assert.Equal(t, sid, m["sessionId"])
	exp, err := time.Parse(time.RFC3339, m["expiresAt"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, before.Add(120*time.Second), exp, 2*time.Second)
	assert.Len(t, m["allowedRoutes"], len(auth.TokenRoutes()))
	assert.Contains(t, m["allowedRoutes"], "POST /v2/bio-sessions/"+sid+"/liveness-capture")

	m = a.clientToken(a.key, sid, "")
	exp, err = time.Parse(time.RFC3339, m["expiresAt"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(auth.DefaultTokenTTL), exp, 2*time.Second)

	noLiveness := a.keyFor("acme", auth.ScopeSessionRead)
	for _, tc := range []struct {
		name, sid, body, bearer string
		status                  int
		code                    string
	}{
		{"too long", sid, `{"ttlSeconds":601}`, a.key, 400, fault.CodeInvalidRequest},
		{"negative", sid, `{"ttlSeconds":-5}`, a.key, 400, fault.CodeInvalidRequest},
		{"unknown field", sid, `{"ttl":60}`, a.key, 400, fault.CodeUnknownField},
		{"unknown session", "nope", ``, a.key, 404, fault.CodeNotFound},
		{"other tenant's session", sid, ``, a.keyFor("other"), 404, fault.CodeNotFound},
		{"no liveness scope", sid, ``, noLiveness, 403, fault.CodeForbidden},
		{"a token asks for a token", sid, ``, m["token"].(string), 403, fault.CodeTokenScope},
		{"no credentials", sid, ``, "", 401, fault.CodeUnauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, _ := a.tokenCall("POST", "/v2/bio-sessions/"+tc.sid+"/client-token", tc.body, tc.bearer, "")
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.code, code)
		})
	}
}

// TestClientTokenRefusals: a token works only on its session's capture and
// liveness routes, before it expires, from its key's origins (or the
// API's own), and unaltered; API keys keep working on every route.
func TestClientTokenRefusals(t *testing.T) {
	a := newFakeAPI(t)
	key, _, err := auth.CreateWithOrigins(context.Background(), a.st, "acme", "web", []string{auth.ScopeAll},
		[]string{"https://shop.example"}, time.Now())
	require.NoError(t, err)
	sidA := a.session(key, `{}`)["id"].(string)
	sidB := a.session(key, `{}`)["id"].(string)
	otherKey := a.keyFor("other")
	sidC := a.session(otherKey, `{}`)["id"].(string)
	tok := a.clientToken(key, sidA, `{"ttlSeconds":300}`)["token"].(string)

	expired, _, err := a.d.Tokens.WithClock(func() time.Time { return time.Now().Add(-11 * time.Minute) }).Issue("acme", sidA, 10*time.Minute, nil)
	require.NoError(t, err)
	foreignKey, err := auth.NewTokens(bytes.Repeat([]byte{7}, 32), nil)
	require.NoError(t, err)
	forged, _, err := foreignKey.Issue("acme", sidA, time.Minute, nil)
	require.NoError(t, err)
	otherTenant, _, err := a.d.Tokens.Issue("other", sidC, time.Minute, nil)
	require.NoError(t, err)
	body, sig, _ := strings.Cut(tok, ".")
	tampered := body + "x." + sig

	params := "/v2/bio-sessions/" + sidA + "/liveness-parameters"
	// The status the handler answers an API key on params: a token that is
	// accepted gets the same.
	wantStatus, wantCode, _ := a.tokenCall("GET", params, "", key, "")
	require.False(t, isTokenRefusal(wantCode), wantCode)
	t.Logf("the handler answers GET liveness-parameters with %d %s", wantStatus, wantCode)

	for _, tc := range []struct {
		name, method, path, bearer, origin string
		code                               string // "" for accepted
	}{
		{"own session", "GET", params, tok, "", ""},
		{"own session, listed origin", "GET", params, tok, "https://shop.example", ""},
		{"own session, API's own origin", "GET", params, tok, a.srv.URL, ""},
		{"result route", "GET", "/v2/bio-sessions/" + sidA + "/liveness-challenge-result/ACTIVE", tok, "", ""},
		{"other origin", "GET", params, tok, "https://evil.example", fault.CodeTokenScope},
		{"foreign session", "GET", "/v2/bio-sessions/" + sidB + "/liveness-parameters", tok, "", fault.CodeTokenScope},
		{"other tenant's session", "GET", "/v2/bio-sessions/" + sidC + "/liveness-parameters", tok, "", fault.CodeTokenScope},
		{"session resource", "GET", "/v2/bio-sessions/" + sidA, tok, "", fault.CodeTokenScope},
		{"delete session", "DELETE", "/v2/bio-sessions/" + sidA, tok, "", fault.CodeTokenScope},
		{"faces", "GET", "/v2/bio-sessions/" + sidA + "/faces", tok, "", fault.CodeTokenScope},
		{"recording", "GET", "/v2/bio-sessions/" + sidA + "/recording", tok, "", fault.CodeTokenScope},
		{"passive liveness", "POST", "/v2/liveness", tok, "", fault.CodeTokenScope},
		{"new session", "POST", "/v2/bio-sessions", tok, "", fault.CodeTokenScope},
		{"expired", "GET", params, expired, "", fault.CodeTokenExpired},
		{"tampered", "GET", params, tampered, "", fault.CodeTokenInvalid},
		{"other key", "GET", params, forged, "", fault.CodeTokenInvalid},
		{"other tenant's token", "GET", params, otherTenant, "", fault.CodeTokenScope},
		{"API key as Bearer", "GET", params, key, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, res := a.tokenCall(tc.method, tc.path, "", tc.bearer, tc.origin)
			if tc.code == "" {
				assert.Equal(t, wantStatus, status)
				assert.Equal(t, wantCode, code)
				if tc.origin != "" {
					assert.Equal(t, tc.origin, res.Header.Get("Access-Control-Allow-Origin"))
				}
				return
			}
			assert.Equal(t, tc.code, code)
			assert.Contains(t, []int{401, 403}, status)
		})
	}

}

// TestClientTokenReplay (real liveness configuration): a token drives one
// liveness attempt: one init-liveness-parameters and one capture
// submission (liveness-capture, liveness-uploads or
// replay-liveness-metadata); a second is refused with TOKEN_REPLAYED while
// reads keep working; a new token starts afresh, the API key is never
// limited, and deleting the session ends its tokens.
func TestClientTokenReplay(t *testing.T) {
	a := newAPI(t)
	sid := a.session(a.key, `{}`)["id"].(string)
	base := "/v2/bio-sessions/" + sid
	tok := a.clientToken(a.key, sid, "")["token"].(string)
	steps := []struct {
		name, method, path, bearer string
		status                     int // 0: any answer of the handler
		replayed                   bool
	}{
		{"init", "POST", base + "/init-liveness-parameters", tok, 200, false},
		{"init again", "POST", base + "/init-liveness-parameters", tok, 0, true},
		{"read parameters", "GET", base + "/liveness-parameters", tok, 200, false},
		{"capture", "POST", base + "/liveness-capture", tok, 0, false},
		{"capture again", "POST", base + "/liveness-capture", tok, 0, true},
		{"upload after capture", "POST", base + "/liveness-uploads", tok, 0, true},
		{"replay metadata after capture", "POST", base + "/replay-liveness-metadata", tok, 0, true},
		{"init after capture", "POST", base + "/init-liveness-parameters", tok, 0, true},
		{"read parameters after capture", "GET", base + "/liveness-parameters", tok, 200, false},
		{"API key capture", "POST", base + "/liveness-capture", a.key, 0, false},
		{"API key capture again", "POST", base + "/liveness-capture", a.key, 0, false},
		{"API key init again", "POST", base + "/init-liveness-parameters", a.key, 200, false},
	}
	for _, s := range steps {
		status, code, _ := a.tokenCall(s.method, s.path, `{}`, s.bearer, "")
		switch {
		case s.replayed:
			assert.Equal(t, 409, status, s.name)
			assert.Equal(t, fault.CodeTokenReplayed, code, s.name)
		case s.status != 0:
			assert.Equal(t, s.status, status, "%s: %s", s.name, code)
		default:
			assert.False(t, isTokenRefusal(code), "%s: %d %s", s.name, status, code)
		}
	}
	fresh := a.clientToken(a.key, sid, "")["token"].(string)
	_, code, _ := a.tokenCall("POST", base+"/liveness-capture", `{}`, fresh, "")
	assert.False(t, isTokenRefusal(code), code)

	// A deleted session takes its tokens with it.
	res, _ := a.call("DELETE", base, "", nil, a.key)
	require.Equal(t, 204, res.StatusCode)
	status, code, _ := a.tokenCall("GET", base+"/liveness-parameters", "", fresh, "")
	assert.Equal(t, 404, status)
	assert.Equal(t, fault.CodeNotFound, code)
}

// tokenObject sends a request with a client token and returns the status
// and the decoded JSON body.
func (a *api) tokenObject(method, path, body, bearer string) (int, map[string]any) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	res, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer res.Body.Close()
	var m map[string]any
	require.NoError(a.t, json.NewDecoder(res.Body).Decode(&m))
	return res.StatusCode, m
}

// TestClientTokenPinnedParameters: the backend fixes the attempt's
// parameters when it asks for the token (default: the service's); a page
// holding the token may repeat them but not change them. API keys choose
// freely, as before.
func TestClientTokenPinnedParameters(t *testing.T) {
	a := newAPI(t)
	sid := a.session(a.key, `{}`)["id"].(string)
	init := "/v2/bio-sessions/" + sid + "/init-liveness-parameters"
	pinned := `{"livenessParameters":{"nbChallenge":4,"securityLevel":"very_high","type":"HIGH"}}`
	m := a.clientToken(a.key, sid, pinned)
	assert.Equal(t, map[string]any{"nbChallenge": 4.0, "securityLevel": "VERY_HIGH", "type": "HIGH"}, m["livenessParameters"])
	assert.Equal(t, map[string]any{}, a.clientToken(a.key, sid, `{}`)["livenessParameters"])

	for _, tc := range []struct {
		name, pin, body string
		status          int
		field           string
		challenges      int
	}{
		{"pinned used", pinned, `{}`, 200, "", 4},
		{"pinned repeated", pinned, `{"nbChallenge":4,"securityLevel":"VERY_HIGH"}`, 200, "", 4},
		{"fewer challenges", pinned, `{"nbChallenge":1}`, 403, "nbChallenge", 0},
		{"lower level", pinned, `{"securityLevel":"LOW"}`, 403, "securityLevel", 0},
		{"default repeated", `{}`, `{"nbChallenge":3,"type":"high"}`, 200, "", 3},
		{"default lowered", `{}`, `{"securityLevel":"LOW"}`, 403, "securityLevel", 0},
		{"longer timeout", `{}`, `{"timeout":600000}`, 403, "timeout", 0},
		{"MEDIUM type", `{}`, `{"type":"MEDIUM"}`, 403, "type", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := a.clientToken(a.key, sid, tc.pin)["token"].(string)
			status, p := a.tokenObject("POST", init, tc.body, tok)
			require.Equal(t, tc.status, status, "%v", p)
			if tc.status != 200 {
				assert.Equal(t, fault.CodeTokenScope, p["code"])
				assert.Contains(t, p["message"], tc.field)
				return
			}
			assert.Equal(t, float64(tc.challenges), p["nbChallenge"])
			assert.Len(t, p["challenges"], tc.challenges)
		})
	}

	status, code, _ := a.tokenCall("POST", "/v2/bio-sessions/"+sid+"/client-token", `{"livenessParameters":{"nbChallenge":99}}`, a.key, "")
	assert.Equal(t, 400, status)
	assert.Equal(t, fault.CodeInvalidRequest, code)
	p := a.object("POST", init, "application/json", []byte(`{"nbChallenge":1,"securityLevel":"LOW"}`), a.key, 200)
	assert.Equal(t, 1.0, p["nbChallenge"], "an API key chooses its parameters")
}
