package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/app/apptest"
	"github.com/facelambda/facelambda/internal/core/auth"
)

// TestDemoBackend: Start on /demo/ creates a bio-session and a client
// token with the example backend's key and sends the browser to the
// liveness page with both in the fragment; the token works on the
// session's liveness routes; the key is kept and reused.
func TestDemoBackend(t *testing.T) {
	g := apptest.Graph(t, apptest.Fake(app.Everything), nil)
	dir := t.TempDir()
	key, err := demoKey(t.Context(), g.Embedded, dir)
	require.NoError(t, err)
	again, err := demoKey(t.Context(), g.Embedded, dir)
	require.NoError(t, err)
	assert.Equal(t, key, again, "the key is kept in the data folder")
	stored, err := g.Embedded.GetAPIKey(t.Context(), auth.Hash(key))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{auth.ScopeSessionWrite, auth.ScopeLiveness}, stored.Scopes)

	demo := &demoBackend{key: key, client: http.DefaultClient}
	srv := httptest.NewServer(withDemo(g.Local(), demo))
	defer srv.Close()
	demo.api = srv.URL
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res, err := noFollow.Get(srv.URL + "/demo/")
	require.NoError(t, err)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(page), `<form method="post" action="/demo/start">`)
	assert.Contains(t, string(page), `<button type="submit"`)
	assert.NotContains(t, string(page), key, "the page never shows the key")

	res, err = noFollow.Post(srv.URL+"/demo/start", "", nil)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "/web/liveness.html", loc.Path)
	frag, err := url.ParseQuery(loc.Fragment)
	require.NoError(t, err)
	sid, token := frag.Get("session"), frag.Get("token")
	require.NotEmpty(t, sid)
	require.True(t, strings.HasPrefix(token, auth.TokenPrefix), token)
	assert.Equal(t, "/demo/", frag.Get("return"))

	// The token is accepted on its session: no parameters yet (404), not 401/403.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/bio-sessions/"+sid+"/liveness-parameters", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	// The page follows the session; the demo page then shows its state.
	res, err = noFollow.Get(srv.URL + "/demo/")
	require.NoError(t, err)
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(page), sid)

	res, err = noFollow.Get(srv.URL + "/demo/nope")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, err = noFollow.Get(srv.URL + "/web/liveness.html")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "the API's routes are still served")
}
