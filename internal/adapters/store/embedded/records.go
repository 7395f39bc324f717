package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// apiKeyRecord is an API key as stored (JSON).
type apiKeyRecord struct {
	Hash    string    `json:"hash"`
	Tenant  string    `json:"tenant"`
	Name    string    `json:"name,omitempty"`
	Scopes  []string  `json:"scopes,omitempty"`
	Created time.Time `json:"created"`
	Origins []string  `json:"origins,omitempty"`
}

func notFound(what string, ids ...string) error {
	return fmt.Errorf("%s %s: %w", what, strings.Join(ids, "/"), store.ErrNotFound)
}

// update runs fn in a read-write transaction, unless ctx is done.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// view runs fn in a read-only transaction, unless ctx is done.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

func put(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return b.Put(k, data)
}

// purgeExpired removes expired sessions and faces, as DynamoDB's TTL does.
func (s *Store) purgeExpired(tx *bolt.Tx) error {
	now := s.now()
	for _, name := range [][]byte{bucketSessions, bucketFaces, bucketClaims} {
		var dead [][]byte
		err := tx.Bucket(name).ForEach(func(k, v []byte) error {
			var r struct {
				Expires time.Time `json:"expires"`
			}
			if err := json.Unmarshal(v, &r); err != nil || !r.Expires.After(now) {
				dead = append(dead, k)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("purge expired %s: %w", name, err)
		}
		for _, k := range dead {
			if err := tx.Bucket(name).Delete(k); err != nil {
				return fmt.Errorf("purge expired %s: %w", name, err)
			}
		}
	}
	return nil
}

// PutAPIKey stores (or replaces) an API key under its hash.
func (s *Store) PutAPIKey(ctx context.Context, k store.APIKey) error {
	if err := ident.CheckAll("API key hash", k.Hash, "tenant", k.Tenant); err != nil {
		return fmt.Errorf("put API key: %w", err)
	}
	if k.Created.IsZero() {
		k.Created = s.now()
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return put(tx.Bucket(bucketAPIKeys), []byte(k.Hash), apiKeyRecord{
			Hash:    k.Hash,
			Tenant:  k.Tenant,
			Name:    k.Name,
			Scopes:  k.Scopes,
			Created: k.Created.UTC(),
			Origins: k.Origins,
		})
	})
	if err != nil {
		return fmt.Errorf("put API key: %w", err)
	}
	return nil
}

// GetAPIKey returns the API key of a hash.
func (s *Store) GetAPIKey(ctx context.Context, hash string) (store.APIKey, error) {
	if err := store.CheckRead("get API key", "API key hash", hash); err != nil {
		return store.APIKey{}, err
	}
	var out store.APIKey
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketAPIKeys).Get([]byte(hash))
		if v == nil {
			return fmt.Errorf("API key: %w", store.ErrNotFound)
		}
		var r apiKeyRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode API key: %w", err)
		}
		out = store.APIKey{Hash: r.Hash, Tenant: r.Tenant, Name: r.Name, Scopes: r.Scopes, Created: r.Created, Origins: r.Origins}
		return nil
	})
	if err != nil {
		return store.APIKey{}, fmt.Errorf("get API key: %w", err)
	}
	return out, nil
}
