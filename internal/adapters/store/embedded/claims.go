package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// bucketClaims holds the claims of store.Records.Claim: tenant, name →
// claimRecord (JSON). Expired ones are purged at open with the sessions.
var bucketClaims = []byte("claims")

type claimRecord struct {
	Expires time.Time `json:"expires"`
}

// Claim records a one-time claim of name for tenant: one transaction reads
// and writes it, so exactly one caller gets it while it lives.
func (s *Store) Claim(ctx context.Context, tenant, name string, expires time.Time) error {
	if err := ident.CheckClaim(tenant, name, expires); err != nil {
		return fmt.Errorf("claim %s/%s: %w", tenant, name, err)
	}
	k := appendPart(appendPart(nil, tenant), name)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClaims)
		if v := b.Get(k); v != nil {
			var r claimRecord
			if err := json.Unmarshal(v, &r); err == nil && r.Expires.After(s.now()) {
				return store.ErrExists
			}
		}
		return put(b, k, claimRecord{Expires: expires.UTC()})
	})
	if err != nil {
		return fmt.Errorf("claim %s/%s: %w", tenant, name, err)
	}
	return nil
}
