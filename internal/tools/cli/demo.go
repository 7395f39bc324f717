package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/store"
)

// The local example backend of `facelambda serve` (GET /demo/): it plays
// the part of an integrator's backend, which holds an API key, so that the
// browser liveness client can be tried with `make run`. It exists only in
// the CLI; no Lambda serves it.

// demoKeyFile is the file of the data folder holding the example
// backend's API key (session:write and liveness scopes).
const demoKeyFile = "demo-api-key"

// demoBackend creates a bio-session and a client token with its API key,
// over HTTP as an integrator's backend would, and sends the browser to the
// liveness page; it reads the last session's result with the same key.
type demoBackend struct {
	api    string // the API's base URL
	key    string
	client *http.Client

	mu   sync.Mutex
	last string // the last bio-session started
}

// demoKey returns the example backend's API key, kept in the data folder,
// creating it in ks when the file or the key is missing.
func demoKey(ctx context.Context, ks auth.KeyStore, dir string) (string, error) {
	path := filepath.Join(dir, demoKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		plain := strings.TrimSpace(string(b))
		if _, err := ks.GetAPIKey(ctx, auth.Hash(plain)); err == nil {
			return plain, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	plain, _, err := auth.Create(ctx, ks, LocalTenant, "local example backend (/demo/)",
		[]string{auth.ScopeSessionWrite, auth.ScopeLiveness}, time.Now())
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(plain+"\n"), 0o600); err != nil {
		return "", err
	}
	return plain, nil
}

// call sends a request to the API with the backend's key and decodes the
// JSON answer into out; an answer other than want is an error.
func (b *demoBackend) call(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		js, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.api+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("apikey", b.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, raw)
	}
	return json.Unmarshal(raw, out)
}

// start creates a bio-session and a client token for it, and returns the
// liveness page's URL (session and token in the fragment).
func (b *demoBackend) start(ctx context.Context) (string, error) {
	var sess struct {
		ID string `json:"id"`
	}
	if err := b.call(ctx, http.MethodPost, "/v2/bio-sessions", map[string]any{"ttlSeconds": 900, "correlationId": "local example"}, http.StatusCreated, &sess); err != nil {
		return "", err
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := b.call(ctx, http.MethodPost, "/v2/bio-sessions/"+url.PathEscape(sess.ID)+"/client-token", map[string]any{"ttlSeconds": 600}, http.StatusCreated, &tok); err != nil {
		return "", err
	}
	b.mu.Lock()
	b.last = sess.ID
	b.mu.Unlock()
	frag := url.Values{"session": {sess.ID}, "token": {tok.Token}, "return": {"/demo/"}}
	return "/web/liveness.html#" + frag.Encode(), nil
}

// demoResult is what the backend reads of the last session's result.
type demoResult struct {
	Session string
	Status  string
	Detail  string
	JSON    string
}

// result reads the last session's challenge result with the API key: the
// attempt's mode from its parameters, then the result in that mode.
func (b *demoBackend) result(ctx context.Context) *demoResult {
	b.mu.Lock()
	sid := b.last
	b.mu.Unlock()
	if sid == "" {
		return nil
	}
	out := &demoResult{Session: sid}
	base := "/v2/bio-sessions/" + url.PathEscape(sid)
	var params struct {
		Type string `json:"type"`
	}
	if err := b.call(ctx, http.MethodGet, base+"/liveness-parameters", nil, http.StatusOK, &params); err != nil {
		out.Detail = "the page has not started the attempt"
		return out
	}
	mode := "LIVENESS_HIGH"
	if params.Type == "MEDIUM" {
		mode = "LIVENESS_MEDIUM"
	}
	var res map[string]any
	if err := b.call(ctx, http.MethodGet, base+"/liveness-challenge-result/"+mode, nil, http.StatusOK, &res); err != nil {
		out.Detail = err.Error()
		return out
	}
	out.Status, _ = res["livenessStatus"].(string)
	out.Detail, _ = res["diagnostic"].(string)
	js, _ := json.MarshalIndent(res, "", "  ")
	out.JSON = string(js)
	return out
}

var demoPage = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>facelambda: local example backend</title>
<link rel="stylesheet" href="/web/liveness.css">
</head>
<body>
<main>
<h1>Local example backend</h1>
<p>This page plays the part of <em>your</em> backend, for trying the browser liveness client with
<code>make run</code>. It is served by <code>facelambda serve</code> only, never by a Lambda function.
Start creates a bio-session and a client token with this server's example API key, then sends
your browser to the liveness page with the session and token in the link's fragment.</p>
<form method="post" action="/demo/start">
<button type="submit" class="fl-button">Start</button>
</form>
{{with .Error}}<div class="fl-error" role="alert"><p>{{.}}</p></div>{{end}}
{{with .Result}}
<h2>What the backend reads</h2>
<p>Last bio-session: <code>{{.Session}}</code></p>
<p>Status: <strong>{{if .Status}}{{.Status}}{{else}}no result yet{{end}}</strong>{{with .Detail}} ({{.}}){{end}}</p>
{{with .JSON}}<details><summary>The signed result, as the backend gets it with its API key</summary><pre>{{.}}</pre></details>{{end}}
{{end}}
</main>
</body>
</html>
`))

// demoCSP allows the page's own style sheet and form, nothing else.
const demoCSP = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// ServeHTTP serves GET /demo/ and POST /demo/start.
func (b *demoBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", demoCSP)
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case r.URL.Path == "/demo/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		b.page(w, r, "")
	case r.URL.Path == "/demo/start" && r.Method == http.MethodPost:
		loc, err := b.start(r.Context())
		if err != nil {
			slog.ErrorContext(r.Context(), "demo backend", "err", err)
			w.WriteHeader(http.StatusBadGateway)
			b.page(w, r, "The example backend could not start a session: "+err.Error())
			return
		}
		http.Redirect(w, r, loc, http.StatusSeeOther)
	default:
		http.NotFound(w, r)
	}
}

func (b *demoBackend) page(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := demoPage.Execute(w, map[string]any{"Error": msg, "Result": b.result(r.Context())}); err != nil {
		slog.ErrorContext(r.Context(), "demo page", "err", err)
	}
}

// withDemo serves the example backend at /demo/ beside h.
func withDemo(h http.Handler, demo *demoBackend) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/demo/", demo)
	mux.Handle("GET /demo", http.RedirectHandler("/demo/", http.StatusMovedPermanently))
	mux.Handle("/", h)
	return mux
}
