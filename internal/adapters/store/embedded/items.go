package embedded

// store.Items in the records database.
//
// Buckets (created by the first write, so that embedded.go need not know
// them; a read before any write finds no bucket and nothing in it):
//
//	items        key = part(tenant) part(kind) id      value = itemRecord (JSON)
//	itemexpiry   key = expires (8 bytes, big-endian, sign bit flipped) + item key, value empty
//
// part() is the length-prefixed encoding of appendPart, so (tenant, kind)
// pairs never collide; the id comes last and raw, so that the keys of one
// tenant and kind sort as their ids do (bytewise), which is the order of
// ListItems. itemexpiry indexes the items that expire, oldest first: every
// PutItem deletes a bounded number of expired items from its front, so
// expired items (delivery logs) do not pile up in a long-running local
// server. Reads filter expired items all the same.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

var (
	bucketItems      = []byte("items")
	bucketItemExpiry = []byte("itemexpiry")
)

// Item limits, the same as the DynamoDB store's.
const (
	// maxItemData is the largest Data of an item, in bytes: DynamoDB's
	// item limit (400 KB) less room for keys and attributes.
	maxItemData = 380 << 10
	// itemPurgeBatch bounds the expired items one PutItem deletes.
	itemPurgeBatch = 100
)

var _ store.Items = (*Store)(nil)

// itemRecord is an item as stored (JSON).
type itemRecord struct {
	Tenant  string    `json:"tenant"`
	Kind    string    `json:"kind"`
	ID      string    `json:"id"`
	Data    []byte    `json:"data,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

func (r itemRecord) item() store.Item {
	return store.Item{
		Tenant:  r.Tenant,
		Kind:    r.Kind,
		ID:      r.ID,
		Data:    r.Data,
		Created: r.Created,
		Expires: r.Expires,
	}
}

// itemLive reports whether an item expiring at expires (zero: never) is
// live at now.
func itemLive(expires, now time.Time) bool { return expires.IsZero() || expires.After(now) }

func itemPrefix(tenant, kind string) []byte { return appendPart(appendPart(nil, tenant), kind) }

func itemKey(tenant, kind, id string) []byte { return append(itemPrefix(tenant, kind), id...) }

// itemExpiryKey is the index key of an item expiring at t: the sign bit
// of unix nanoseconds flipped, so that big-endian bytes sort as times do.
func itemExpiryKey(t time.Time, key []byte) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())^(1<<63))
	return append(k, key...)
}

// PutItem creates or replaces an item. A zero Created is set to now.
func (s *Store) PutItem(ctx context.Context, it store.Item) error {
	if err := ident.CheckAll("tenant", it.Tenant, "item kind", it.Kind, "item id", it.ID); err != nil {
		return fmt.Errorf("put item: %w", err)
	}
	if len(it.Data) > maxItemData {
		return fmt.Errorf("put item %s/%s/%s: %w: data of %d bytes (at most %d)",
			it.Tenant, it.Kind, it.ID, ident.ErrInvalid, len(it.Data), maxItemData)
	}
	now := s.now()
	if it.Created.IsZero() {
		it.Created = now
	}
	rec := itemRecord{
		Tenant:  it.Tenant,
		Kind:    it.Kind,
		ID:      it.ID,
		Data:    it.Data,
		Created: it.Created.UTC(),
	}
	if !it.Expires.IsZero() {
		rec.Expires = it.Expires.UTC()
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("put item %s/%s/%s: marshal: %w", it.Tenant, it.Kind, it.ID, err)
	}
	k := itemKey(it.Tenant, it.Kind, it.ID)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		items, index, err := itemBuckets(tx)
		if err != nil {
			return err
		}
		if err := unindexItem(items, index, k); err != nil {
			return err
		}
		if err := items.Put(k, v); err != nil {
			return err
		}
		if !rec.Expires.IsZero() {
			if err := index.Put(itemExpiryKey(rec.Expires, k), nil); err != nil {
				return err
			}
		}
		return purgeExpiredItems(items, index, now, itemPurgeBatch)
	})
	if err != nil {
		return fmt.Errorf("put item %s/%s/%s: %w", it.Tenant, it.Kind, it.ID, err)
	}
	return nil
}

// itemBuckets returns the item buckets, creating them if needed.
func itemBuckets(tx *bolt.Tx) (items, index *bolt.Bucket, err error) {
	if items, err = tx.CreateBucketIfNotExists(bucketItems); err != nil {
		return nil, nil, fmt.Errorf("create bucket %s: %w", bucketItems, err)
	}
	if index, err = tx.CreateBucketIfNotExists(bucketItemExpiry); err != nil {
		return nil, nil, fmt.Errorf("create bucket %s: %w", bucketItemExpiry, err)
	}
	return items, index, nil
}

// unindexItem removes the expiry index entry of the item at key k, if it
// exists and expires.
func unindexItem(items, index *bolt.Bucket, k []byte) error {
	old := items.Get(k)
	if old == nil {
		return nil
	}
	var r itemRecord
	if err := json.Unmarshal(old, &r); err != nil {
		return fmt.Errorf("unmarshal item: %w", err)
	}
	if r.Expires.IsZero() {
		return nil
	}
	return index.Delete(itemExpiryKey(r.Expires, k))
}

// purgeExpiredItems deletes at most max items expired at now, oldest
// first.
func purgeExpiredItems(items, index *bolt.Bucket, now time.Time, max int) error {
	limit := binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano())^(1<<63))
	var dead [][]byte
	c := index.Cursor()
	for k, _ := c.First(); k != nil && len(dead) < max; k, _ = c.Next() {
		if len(k) < 8 || bytes.Compare(k[:8], limit) > 0 {
			break
		}
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := items.Delete(k[8:]); err != nil {
			return err
		}
		if err := index.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// GetItem returns a live item.
func (s *Store) GetItem(ctx context.Context, tenant, kind, id string) (store.Item, error) {
	if err := store.CheckRead("get item", "tenant", tenant, "item kind", kind, "item id", id); err != nil {
		return store.Item{}, err
	}
	var rec itemRecord
	found := false
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		if b == nil {
			return nil
		}
		v := b.Get(itemKey(tenant, kind, id))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &rec)
	})
	if err != nil {
		return store.Item{}, fmt.Errorf("get item %s/%s/%s: %w", tenant, kind, id, err)
	}
	if !found || !itemLive(rec.Expires, s.now()) {
		return store.Item{}, notFound("item", tenant, kind, id)
	}
	return rec.item(), nil
}

// ListItems returns live items of a tenant and kind with ids in [from, to)
// ("" for an unbounded end), ascending by id (bytewise), at most limit
// (1,000 when limit is not positive).
func (s *Store) ListItems(ctx context.Context, tenant, kind, from, to string, limit int) ([]store.Item, error) {
	limit, empty, err := store.ListItemsArgs(tenant, kind, from, to, limit)
	if err != nil {
		return nil, err
	}
	out := []store.Item{}
	if empty {
		return out, nil
	}
	now := s.now()
	prefix := itemPrefix(tenant, kind)
	err = s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(append(bytes.Clone(prefix), from...)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if to != "" && string(k[len(prefix):]) >= to {
				break
			}
			var rec itemRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("unmarshal item: %w", err)
			}
			if !itemLive(rec.Expires, now) {
				continue
			}
			out = append(out, rec.item())
			if len(out) >= limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list items %s/%s: %w", tenant, kind, err)
	}
	return out, nil
}

// DeleteItem deletes an item (ErrNotFound when it was absent or expired;
// an expired one is deleted all the same).
func (s *Store) DeleteItem(ctx context.Context, tenant, kind, id string) error {
	if err := store.CheckRead("delete item", "tenant", tenant, "item kind", kind, "item id", id); err != nil {
		return err
	}
	k := itemKey(tenant, kind, id)
	live := false
	err := s.update(ctx, func(tx *bolt.Tx) error {
		items, index := tx.Bucket(bucketItems), tx.Bucket(bucketItemExpiry)
		if items == nil || index == nil {
			return nil
		}
		v := items.Get(k)
		if v == nil {
			return nil
		}
		var rec itemRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("unmarshal item: %w", err)
		}
		live = itemLive(rec.Expires, s.now())
		if err := unindexItem(items, index, k); err != nil {
			return err
		}
		return items.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("delete item %s/%s/%s: %w", tenant, kind, id, err)
	}
	if !live {
		return notFound("item", tenant, kind, id)
	}
	return nil
}
