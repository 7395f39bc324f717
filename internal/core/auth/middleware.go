package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
)

// Fail answers a request refused with err (a *fault.Error): the transport's
// error writer, which maps the code to a status and writes the error
// object.
type Fail func(w http.ResponseWriter, r *http.Request, err error)

// Cache bounds of Middleware: a warm Lambda looks a key up in the store at
// most once a minute, so a revoked key keeps working for up to CacheTTL.
const (
	CacheTTL  = 60 * time.Second
	CacheSize = 1024
)

// maxKeyLen bounds the key read from a request; longer values are rejected
// without a store lookup.
const maxKeyLen = 256

const msgUnauthenticated = "missing or invalid API key: send it in the apikey header or as Authorization: Bearer <key>"

// Middleware authenticates every request by its API key, read from the
// apikey header or else from "Authorization: Bearer <key>", and puts the
// Principal in the request's context. A missing or unknown key is answered
// by fail with UNAUTHENTICATED (the same error for both), a store failure
// with INTERNAL_ERROR.
//
// Successful lookups are cached in memory by hash for CacheTTL (at most
// CacheSize keys); each call of Middleware has its own cache.
func Middleware(ks KeyStore, fail Fail) func(http.Handler) http.Handler {
	a := &authenticator{ks: ks, cache: newKeyCache(CacheTTL, CacheSize, time.Now), fail: fail}
	return a.middleware
}

type authenticator struct {
	ks    KeyStore
	cache *keyCache
	fail  Fail
}

func (a *authenticator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain := requestKey(r)
		if plain == "" || len(plain) > maxKeyLen {
			unauthenticated(w, r, a.fail)
			return
		}
		hash := Hash(plain)
		k, ok := a.cache.get(hash)
		if !ok {
			var err error
			k, err = a.ks.GetAPIKey(r.Context(), hash)
			switch {
			case errors.Is(err, store.ErrNotFound):
				unauthenticated(w, r, a.fail)
				return
			case err != nil:
				a.fail(w, r, fault.Internal("", fmt.Errorf("api key lookup: %w", err)))
				return
			}
			a.cache.put(hash, k)
		}
		p := Principal{Tenant: k.Tenant, KeyName: k.Name, Scopes: slices.Clone(k.Scopes), Origins: slices.Clone(k.Origins)}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// requestKey returns the key of r: the apikey header, else the credentials
// of a Bearer Authorization header (scheme case-insensitive), else "".
func requestKey(r *http.Request) string {
	if k := strings.TrimSpace(r.Header.Get("apikey")); k != "" {
		return k
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// Require guards next with scope: a request without a principal is
// answered by fail with UNAUTHENTICATED, one whose principal lacks the
// scope with FORBIDDEN. It panics on an unknown scope, a programming error.
func Require(scope string, next http.Handler, fail Fail) http.Handler {
	if !validScope(scope) {
		panic(fmt.Sprintf("auth: Require of unknown scope %q", scope))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if !ok {
			unauthenticated(w, r, fail)
			return
		}
		if !p.Has(scope) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q`, scope))
			fail(w, r, fault.Newf(fault.CodeForbidden, "the API key lacks the %q scope", scope))
			slog.InfoContext(r.Context(), "request rejected", "request_id", w.Header().Get("X-Request-Id"), "code", fault.CodeForbidden,
				"path", r.URL.Path, "tenant", p.Tenant, "scope", scope)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthenticated(w http.ResponseWriter, r *http.Request, fail Fail) {
	w.Header().Set("WWW-Authenticate", "Bearer")
	fail(w, r, fault.New(fault.CodeUnauthenticated, msgUnauthenticated))
	slog.InfoContext(r.Context(), "request rejected", "request_id", w.Header().Get("X-Request-Id"), "code", fault.CodeUnauthenticated, "path", r.URL.Path)
}

// keyCache holds keys found in the store, by hash, for ttl.
type keyCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	key     store.APIKey
	expires time.Time
}

func newKeyCache(ttl time.Duration, size int, now func() time.Time) *keyCache {
	return &keyCache{ttl: ttl, max: size, now: now, m: make(map[string]cacheEntry)}
}

func (c *keyCache) get(hash string) (store.APIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok {
		return store.APIKey{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.m, hash)
		return store.APIKey{}, false
	}
	return e.key, true
}

func (c *keyCache) put(hash string, k store.APIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, ok := c.m[hash]; !ok && len(c.m) >= c.max {
		for h, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, h)
			}
		}
		// Still full: drop arbitrary entries (map order) to make room.
		for h := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, h)
		}
	}
	c.m[hash] = cacheEntry{key: k, expires: now.Add(c.ttl)}
}
