// Package auth authenticates the tenants (service providers) of the service
// by API key and authorises them by scope.
//
// An API key is "fl_" followed by the base64url encoding of 32 random bytes.
// The service stores only its SHA-256 (hex, see Hash): the plain key is shown
// once, when it is created, and a request's key is looked up by its hash, so
// no comparison of secrets (constant-time or otherwise) takes place.
//
// Middleware resolves the key of each request to a Principal (tenant, key
// name, scopes) kept in the request's context; Require guards a handler with
// a scope. Rejections carry the service's error object
// {"id","code","message"}.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/store"
)

// KeyStore persists API keys by hash; store.Records satisfies it.
type KeyStore interface {
	PutAPIKey(ctx context.Context, k store.APIKey) error
	// GetAPIKey returns the key with this hash (store.ErrNotFound when
	// there is none).
	GetAPIKey(ctx context.Context, hash string) (store.APIKey, error)
}

// Scopes: one per family of endpoints.
const (
	ScopeSessionRead  = "session:read"
	ScopeSessionWrite = "session:write"
	ScopeFaceRead     = "face:read"
	ScopeFaceWrite    = "face:write"
	ScopeMatch        = "match"
	ScopeLiveness     = "liveness"
	ScopeEnroll       = "enroll"
	ScopeWebhook      = "webhook"
	ScopeUsage        = "usage:read"

	// ScopeAll grants every scope, including scopes added later.
	ScopeAll = "*"
)

var allScopes = []string{
	ScopeSessionRead, ScopeSessionWrite,
	ScopeFaceRead, ScopeFaceWrite,
	ScopeMatch, ScopeLiveness, ScopeEnroll,
	ScopeWebhook, ScopeUsage,
}

// Errors of key creation (wrapped, test with errors.Is).
var (
	ErrInvalidTenant = errors.New("invalid tenant id")
	ErrInvalidScope  = errors.New("invalid scope")
	ErrInvalidOrigin = errors.New("invalid origin")
)

// KeyPrefix starts every API key.
const KeyPrefix = "fl_"

// AllScopes returns every named scope (not ScopeAll), in a fixed order.
func AllScopes() []string { return slices.Clone(allScopes) }

func validScope(s string) bool { return s == ScopeAll || slices.Contains(allScopes, s) }

// ParseScopes parses a comma-separated list of scopes ("match,face:read");
// spaces around names are ignored and duplicates dropped. It fails on an
// unknown name, listing the valid ones, and on an empty list.
func ParseScopes(s string) ([]string, error) {
	var names []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			names = append(names, part)
		}
	}
	return checkScopes(names)
}

// checkScopes validates names and returns them without duplicates.
func checkScopes(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no scopes given (valid: %s)", ErrInvalidScope, validList())
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !validScope(n) {
			return nil, fmt.Errorf("%w: unknown scope %q (valid: %s)", ErrInvalidScope, n, validList())
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func validList() string { return strings.Join(append(AllScopes(), ScopeAll), ", ") }

// ValidateTenant checks a tenant id: 1 to 64 characters of [A-Za-z0-9_-].
func ValidateTenant(tenant string) error {
	if tenant == "" || len(tenant) > 64 {
		return fmt.Errorf("%w %q: must be 1 to 64 characters", ErrInvalidTenant, tenant)
	}
	for _, c := range []byte(tenant) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w %q: only letters, digits, '_' and '-' are allowed", ErrInvalidTenant, tenant)
		}
	}
	return nil
}

// NewKey returns a fresh API key: KeyPrefix + base64url(32 random bytes).
func NewKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: generate key: %w", err)
	}
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Hash returns the hex SHA-256 of a plain key, the form it is stored under.
func Hash(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// Create makes a key for tenant, stores its hash and returns the plain key,
// to be shown once, with the stored record. name is a label for people
// ("backend prod"); scopes must be valid names (see ParseScopes).
func Create(ctx context.Context, ks KeyStore, tenant, name string, scopes []string, now time.Time) (plain string, key store.APIKey, err error) {
	return CreateWithOrigins(ctx, ks, tenant, name, scopes, nil, now)
}

// CreateWithOrigins is Create for a key whose client tokens may be used
// from the web origins given (see ParseOrigins).
func CreateWithOrigins(ctx context.Context, ks KeyStore, tenant, name string, scopes, origins []string, now time.Time) (plain string, key store.APIKey, err error) {
	if err := ValidateTenant(tenant); err != nil {
		return "", store.APIKey{}, fmt.Errorf("auth: create key: %w", err)
	}
	scopes, err = checkScopes(scopes)
	if err != nil {
		return "", store.APIKey{}, fmt.Errorf("auth: create key: %w", err)
	}
	if origins, err = ParseOrigins(origins); err != nil {
		return "", store.APIKey{}, fmt.Errorf("auth: create key: %w", err)
	}
	plain, err = NewKey()
	if err != nil {
		return "", store.APIKey{}, err
	}
	key = store.APIKey{Hash: Hash(plain), Tenant: tenant, Name: name, Scopes: scopes, Created: now.UTC()}
	if len(origins) > 0 {
		key.Origins = origins
	}
	if err := ks.PutAPIKey(ctx, key); err != nil {
		return "", store.APIKey{}, fmt.Errorf("auth: store key for tenant %q: %w", tenant, err)
	}
	return plain, key, nil
}

// Principal is the authenticated caller of a request.
type Principal struct {
	Tenant  string
	KeyName string
	Scopes  []string
	// Origins are the key's web origins for client tokens.
	Origins []string
	// Token holds the claims when the caller used a client token.
	Token *TokenClaims
}

// Has reports whether the principal holds scope, directly or through
// ScopeAll.
func (p Principal) Has(scope string) bool {
	return slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, ScopeAll)
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal Middleware put in ctx.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
