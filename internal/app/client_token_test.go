package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/app/apptest"
	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/fault"
)

// TestLocalClientTokenCORS: on the local composition (fake engine) a key
// with an origin issues a token; the token route's preflight is answered
// as API Gateway answers it, and the token's own request is held to the
// key's origins: the listed origin is echoed in Access-Control-Allow-Origin,
// another gets 403 TOKEN_SCOPE.
func TestLocalClientTokenCORS(t *testing.T) {
	g := apptest.Graph(t, apptest.Fake(app.Everything), nil)
	key, _, err := auth.CreateWithOrigins(context.Background(), g.Deps.Keys, "acme", "web", []string{auth.ScopeAll},
		[]string{"https://shop.example"}, time.Now())
	require.NoError(t, err)
	h := app.Local(g.Deps, nil)
	do := func(method, path, body, cred, origin string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if cred != "" {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := do("POST", "/v2/bio-sessions", "{}", key, "")
	require.Equal(t, 201, rec.Code, rec.Body.String())
	var sess struct{ ID string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &sess))
	rec = do("POST", "/v2/bio-sessions/"+sess.ID+"/client-token", `{"ttlSeconds":60}`, key, "")
	require.Equal(t, 201, rec.Code, rec.Body.String())
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tok))

	params := "/v2/bio-sessions/" + sess.ID + "/liveness-parameters"
	rec = do("OPTIONS", params, "", "", "https://shop.example", "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "authorization")
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "authorization")

	rec = do("GET", params, "", tok.Token, "https://shop.example")
	assert.NotContains(t, rec.Body.String(), "TOKEN_", rec.Body.String())
	assert.Equal(t, "https://shop.example", rec.Header().Get("Access-Control-Allow-Origin"))

	rec = do("GET", params, "", tok.Token, "https://evil.example")
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Contains(t, rec.Body.String(), fault.CodeTokenScope)
}
