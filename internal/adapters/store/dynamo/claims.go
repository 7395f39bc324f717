package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// Claims (store.Records.Claim) are items of their own partition:
//
//	claim     pk = "T#<tenant>#CLAIM#<name>"  sk = "CLAIM"
//
// written by one conditional PutItem (absent, or expired), with the TTL
// attribute so DynamoDB deletes them once expired.
const (
	pkClaim = "#CLAIM#"
	skClaim = "CLAIM"
)

// Claim records a one-time claim of name for tenant with a conditional
// put: exactly one caller gets it while it lives.
func (s *Store) Claim(ctx context.Context, tenant, name string, expires time.Time) error {
	if err := ident.CheckClaim(tenant, name, expires); err != nil {
		return fmt.Errorf("claim %s/%s: %w", tenant, name, err)
	}
	item := key(pkTenant+tenant+pkClaim+name, skClaim)
	item["expires"] = num(expires.UnixNano())
	item[attrExpiresAt] = num(ttlSeconds(expires))
	if err := s.putUnlessLive(ctx, item, s.now()); err != nil {
		return fmt.Errorf("claim %s/%s: %w", tenant, name, err)
	}
	return nil
}
