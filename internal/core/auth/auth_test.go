package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/uid"
)

// memKeys is an in-memory KeyStore that counts lookups.
type memKeys struct {
	mu   sync.Mutex
	keys map[string]store.APIKey
	gets int
	err  error // returned by GetAPIKey when set
}

func newMemKeys() *memKeys { return &memKeys{keys: map[string]store.APIKey{}} }

func (m *memKeys) PutAPIKey(_ context.Context, k store.APIKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[k.Hash]; ok {
		return store.ErrExists
	}
	m.keys[k.Hash] = k
	return nil
}

func (m *memKeys) GetAPIKey(_ context.Context, hash string) (store.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.err != nil {
		return store.APIKey{}, m.err
	}
	k, ok := m.keys[hash]
	if !ok {
		return store.APIKey{}, fmt.Errorf("api key: %w", store.ErrNotFound)
	}
	return k, nil
}

func (m *memKeys) lookups() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets
}

var _ KeyStore = store.Records(nil)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// echo answers 200 with the principal's tenant, key name and scopes.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := FromContext(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusTeapot)
		return
	}
	fmt.Fprintf(w, "%s/%s/%s", p.Tenant, p.KeyName, strings.Join(p.Scopes, ","))
})

func do(h http.Handler, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/v2/sessions", nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// errorBody is what fail writes.
type errorBody struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// fail stands for the transport's error writer: it answers the code with
// its status and the error object, whose id is the request id (a new UUID
// when none is set).
func fail(w http.ResponseWriter, _ *http.Request, err error) {
	e := fault.As(err)
	if e == nil {
		e = fault.Internal("", err)
	}
	status := map[string]int{fault.CodeUnauthenticated: http.StatusUnauthorized, fault.CodeForbidden: http.StatusForbidden}[e.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	id := w.Header().Get("X-Request-Id")
	if id == "" {
		id = uid.New()
		w.Header().Set("X-Request-Id", id)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{ID: id, Code: e.Code, Message: e.Message})
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var b errorBody
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&b))
	return b
}

func TestNewKeyAndHash(t *testing.T) {
	k1, err := NewKey()
	require.NoError(t, err)
	k2, err := NewKey()
	require.NoError(t, err)
	assert.NotEqual(t, k1, k2)
	require.True(t, strings.HasPrefix(k1, "fl_"))
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(k1, "fl_"))
	require.NoError(t, err)
	assert.Len(t, raw, 32)

	// SHA-256("abc")
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Hash("abc"))
	assert.Equal(t, Hash(k1), Hash(k1))
	assert.NotEqual(t, Hash(k1), Hash(k2))
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "match", want: []string{"match"}},
		{in: "match,face:read", want: []string{"match", "face:read"}},
		{in: " session:read , session:write ,", want: []string{"session:read", "session:write"}},
		{in: "match,match", want: []string{"match"}},
		{in: "*", want: []string{"*"}},
		{in: "liveness,enroll,webhook,usage:read,face:write", want: []string{"liveness", "enroll", "webhook", "usage:read", "face:write"}},
		{in: "", wantErr: "no scopes given"},
		{in: " , ", wantErr: "no scopes given"},
		{in: "match,face", wantErr: `unknown scope "face"`},
		{in: "Match", wantErr: `unknown scope "Match"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScopes(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalidScope)
				assert.ErrorContains(t, err, tt.wantErr)
				// The error lists the valid names.
				for _, s := range AllScopes() {
					assert.ErrorContains(t, err, s)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestAllScopes(t *testing.T) {
	all := AllScopes()
	assert.Len(t, all, 9)
	assert.NotContains(t, all, ScopeAll)
	all[0] = "mutated"
	assert.Equal(t, ScopeSessionRead, AllScopes()[0], "AllScopes returns a copy")
}

func TestPrincipalHas(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
		scope  string
		want   bool
	}{
		{"direct", []string{ScopeMatch, ScopeFaceRead}, ScopeFaceRead, true},
		{"missing", []string{ScopeMatch}, ScopeFaceWrite, false},
		{"none", nil, ScopeMatch, false},
		{"star", []string{ScopeAll}, ScopeWebhook, true},
		{"read is not write", []string{ScopeSessionRead}, ScopeSessionWrite, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Principal{Scopes: tt.scopes}.Has(tt.scope))
		})
	}
}

func TestContext(t *testing.T) {
	_, ok := FromContext(context.Background())
	assert.False(t, ok)
	p := Principal{Tenant: "acme", KeyName: "prod", Scopes: []string{ScopeMatch}}
	got, ok := FromContext(WithPrincipal(context.Background(), p))
	require.True(t, ok)
	assert.Equal(t, p, got)
}

func TestCreate(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name    string
		tenant  string
		scopes  []string
		wantErr error
	}{
		{"ok", "acme", []string{ScopeMatch}, nil},
		{"all chars", "Acme_corp-01", []string{ScopeAll}, nil},
		{"64 chars", strings.Repeat("a", 64), []string{ScopeMatch}, nil},
		{"empty tenant", "", []string{ScopeMatch}, ErrInvalidTenant},
		{"65 chars", strings.Repeat("a", 65), []string{ScopeMatch}, ErrInvalidTenant},
		{"slash", "acme/evil", []string{ScopeMatch}, ErrInvalidTenant},
		{"space", "acme corp", []string{ScopeMatch}, ErrInvalidTenant},
		{"dot", "acme.corp", []string{ScopeMatch}, ErrInvalidTenant},
		{"non-ascii", "acmé", []string{ScopeMatch}, ErrInvalidTenant},
		{"no scopes", "acme", nil, ErrInvalidScope},
		{"bad scope", "acme", []string{"admin"}, ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks := newMemKeys()
			plain, key, err := Create(context.Background(), ks, tt.tenant, "backend", tt.scopes, now)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, plain)
				assert.Empty(t, ks.keys, "nothing stored")
				return
			}
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(plain, KeyPrefix))
			assert.Equal(t, Hash(plain), key.Hash)
			assert.Equal(t, tt.tenant, key.Tenant)
			assert.Equal(t, "backend", key.Name)
			assert.Equal(t, tt.scopes, key.Scopes)
			assert.Equal(t, now.UTC(), key.Created)
			assert.Equal(t, time.UTC, key.Created.Location())
			assert.Equal(t, map[string]store.APIKey{key.Hash: key}, ks.keys, "stored by hash only")
		})
	}
}

func TestCreateStoreError(t *testing.T) {
	ks := newMemKeys()
	boom := errors.New("boom")
	_, _, err := Create(context.Background(), failingPut{ks, boom}, "acme", "x", []string{ScopeMatch}, time.Now())
	require.ErrorIs(t, err, boom)
	assert.ErrorContains(t, err, "acme")
}

type failingPut struct {
	*memKeys
	err error
}

func (f failingPut) PutAPIKey(context.Context, store.APIKey) error { return f.err }

func TestMiddleware(t *testing.T) {
	ks := newMemKeys()
	plain, _, err := Create(context.Background(), ks, "acme", "prod", []string{ScopeMatch, ScopeFaceRead}, time.Now())
	require.NoError(t, err)
	other, err := NewKey() // never stored
	require.NoError(t, err)

	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"apikey header", map[string]string{"apikey": plain}, http.StatusOK},
		{"bearer", map[string]string{"Authorization": "Bearer " + plain}, http.StatusOK},
		{"bearer lower case", map[string]string{"Authorization": "bearer " + plain}, http.StatusOK},
		{"bearer upper case", map[string]string{"Authorization": "BEARER " + plain}, http.StatusOK},
		{"apikey wins", map[string]string{"apikey": plain, "Authorization": "Bearer " + other}, http.StatusOK},
		{"missing", nil, http.StatusUnauthorized},
		{"empty apikey", map[string]string{"apikey": ""}, http.StatusUnauthorized},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, http.StatusUnauthorized},
		{"basic scheme", map[string]string{"Authorization": "Basic " + plain}, http.StatusUnauthorized},
		{"no scheme", map[string]string{"Authorization": plain}, http.StatusUnauthorized},
		{"unknown key", map[string]string{"apikey": other}, http.StatusUnauthorized},
		{"unknown bearer", map[string]string{"Authorization": "Bearer " + other}, http.StatusUnauthorized},
		{"hash as key", map[string]string{"apikey": Hash(plain)}, http.StatusUnauthorized},
		{"too long", map[string]string{"apikey": strings.Repeat("x", maxKeyLen+1)}, http.StatusUnauthorized},
	}
	h := Middleware(ks, fail)(echo)
	var unauthBody string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, tt.header)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.status == http.StatusOK {
				assert.Equal(t, "acme/prod/match,face:read", w.Body.String())
				return
			}
			assert.Equal(t, "Bearer", w.Header().Get("WWW-Authenticate"))
			b := decodeError(t, w)
			assert.Equal(t, fault.CodeUnauthenticated, b.Code)
			assert.Regexp(t, uuidRE, b.ID)
			assert.Equal(t, b.ID, w.Header().Get("X-Request-Id"))
			assert.NotContains(t, b.Message, plain)
			// Missing and unknown keys get the same message.
			if unauthBody == "" {
				unauthBody = b.Message
			}
			assert.Equal(t, unauthBody, b.Message)
		})
	}
}

func TestMiddlewareStoreError(t *testing.T) {
	ks := newMemKeys()
	ks.err = errors.New("dynamodb: ProvisionedThroughputExceededException on table keys")
	h := Middleware(ks, fail)(echo)
	w := do(h, map[string]string{"apikey": "fl_whatever"})
	require.Equal(t, http.StatusInternalServerError, w.Code)
	b := decodeError(t, w)
	assert.Equal(t, fault.CodeInternal, b.Code)
	assert.Equal(t, "internal error", b.Message)
	assert.Empty(t, w.Header().Get("WWW-Authenticate"))

	// A failed lookup is not cached: the next request asks again.
	do(h, map[string]string{"apikey": "fl_whatever"})
	assert.Equal(t, 2, ks.lookups())
}

func TestMiddlewareKeepsRequestID(t *testing.T) {
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-123")
		Middleware(newMemKeys(), fail)(echo).ServeHTTP(w, r)
	}
	w := do(http.HandlerFunc(h), nil)
	require.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, "req-123", decodeError(t, w).ID)
}

func TestMiddlewareCache(t *testing.T) {
	ks := newMemKeys()
	plain, _, err := Create(context.Background(), ks, "acme", "prod", []string{ScopeMatch}, time.Now())
	require.NoError(t, err)
	h := Middleware(ks, fail)(echo)

	for i := range 3 {
		w := do(h, map[string]string{"apikey": plain})
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, 1, ks.lookups(), "request %d", i)
	}
	// Same key through the other header: same hash, still cached.
	w := do(h, map[string]string{"Authorization": "Bearer " + plain})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 1, ks.lookups())

	// Unknown keys are not cached.
	for range 2 {
		do(h, map[string]string{"apikey": "fl_unknown"})
	}
	assert.Equal(t, 3, ks.lookups())
	// A missing key never reaches the store.
	do(h, nil)
	assert.Equal(t, 3, ks.lookups())
}

func TestMiddlewareCacheTTL(t *testing.T) {
	ks := newMemKeys()
	plain, _, err := Create(context.Background(), ks, "acme", "prod", []string{ScopeMatch}, time.Now())
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	a := &authenticator{ks: ks, cache: newKeyCache(time.Minute, 8, func() time.Time { return now }), fail: fail}
	h := a.middleware(echo)
	hdr := map[string]string{"apikey": plain}

	require.Equal(t, http.StatusOK, do(h, hdr).Code)
	now = now.Add(59 * time.Second)
	require.Equal(t, http.StatusOK, do(h, hdr).Code)
	assert.Equal(t, 1, ks.lookups())

	// Revoked in the store: works from the cache until the TTL ends.
	delete(ks.keys, Hash(plain))
	require.Equal(t, http.StatusOK, do(h, hdr).Code)
	now = now.Add(time.Second)
	assert.Equal(t, http.StatusUnauthorized, do(h, hdr).Code)
	assert.Equal(t, 2, ks.lookups())
}

func TestKeyCacheBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newKeyCache(time.Minute, 3, func() time.Time { return now })
	for i := range 10 {
		c.put(fmt.Sprint(i), store.APIKey{Tenant: fmt.Sprint(i)})
		assert.LessOrEqual(t, len(c.m), 3)
	}
	k, ok := c.get("9")
	require.True(t, ok, "the newest entry is kept")
	assert.Equal(t, "9", k.Tenant)

	// Expired entries are swept first.
	c = newKeyCache(time.Minute, 2, func() time.Time { return now })
	c.put("old", store.APIKey{})
	now = now.Add(30 * time.Second)
	c.put("young", store.APIKey{})
	now = now.Add(31 * time.Second)
	c.put("new", store.APIKey{})
	_, ok = c.get("young")
	assert.True(t, ok)
	_, ok = c.get("new")
	assert.True(t, ok)
	_, ok = c.get("old")
	assert.False(t, ok)
}

func TestMiddlewarePrincipalIsolated(t *testing.T) {
	// A handler mutating its principal's scopes does not affect the cache.
	ks := newMemKeys()
	plain, _, err := Create(context.Background(), ks, "acme", "prod", []string{ScopeMatch}, time.Now())
	require.NoError(t, err)
	mutate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		p.Scopes[0] = ScopeAll
	})
	Middleware(ks, fail)(mutate).ServeHTTP(httptest.NewRecorder(), func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("apikey", plain)
		return r
	}())
	assert.Equal(t, []string{ScopeMatch}, ks.keys[Hash(plain)].Scopes)
}

func TestRequire(t *testing.T) {
	ks := newMemKeys()
	ctx := context.Background()
	matchKey, _, err := Create(ctx, ks, "acme", "matcher", []string{ScopeMatch}, time.Now())
	require.NoError(t, err)
	allKey, _, err := Create(ctx, ks, "acme", "admin", []string{ScopeAll}, time.Now())
	require.NoError(t, err)

	tests := []struct {
		name   string
		key    string
		scope  string
		status int
	}{
		{"has scope", matchKey, ScopeMatch, http.StatusOK},
		{"missing scope", matchKey, ScopeFaceWrite, http.StatusForbidden},
		{"star has match", allKey, ScopeMatch, http.StatusOK},
		{"star has webhook", allKey, ScopeWebhook, http.StatusOK},
		{"star has usage", allKey, ScopeUsage, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Middleware(ks, fail)(Require(tt.scope, echo, fail))
			w := do(h, map[string]string{"apikey": tt.key})
			require.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.status == http.StatusOK {
				return
			}
			b := decodeError(t, w)
			assert.Equal(t, fault.CodeForbidden, b.Code)
			assert.Contains(t, b.Message, `"`+tt.scope+`"`)
			assert.Regexp(t, uuidRE, b.ID)
			assert.Equal(t, `Bearer error="insufficient_scope", scope="`+tt.scope+`"`, w.Header().Get("WWW-Authenticate"))
		})
	}
}

func TestRequireWithoutPrincipal(t *testing.T) {
	w := do(Require(ScopeMatch, echo, fail), map[string]string{"apikey": "fl_ignored"})
	require.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, "Bearer", w.Header().Get("WWW-Authenticate"))
	assert.Equal(t, fault.CodeUnauthenticated, decodeError(t, w).Code)
}

func TestRequireUnknownScopePanics(t *testing.T) {
	assert.Panics(t, func() { Require("admin", echo, fail) })
}
