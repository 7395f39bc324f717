package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// bbolt buckets of store.Classes. Keys start with the length-prefixed
// tenant (appendPart); class ids are 8 bytes big-endian, so that byte
// order is numeric order; a trailing gallery name is raw, so that byte
// order is name order:
//
//	classes    tenant, id             → classRecord (JSON), or its tombstone
//	galleries  tenant, name           → galleryRecord (JSON), or its tombstone
//	members    tenant, (name), id     → "1"
//	memberof   tenant, id, name       → "1" (the reverse of members)
//
// Every operation is one transaction, so memberships, their reverse
// entries and the galleries' counts and versions always agree.
var (
	bucketClasses   = []byte("classes")
	bucketGalleries = []byte("galleries")
	bucketMembers   = []byte("members")
	bucketMemberOf  = []byte("memberof")
)

var _ store.Classes = (*Store)(nil)

// present is the value of membership entries.
var present = []byte{1}

// classRecord is a class as stored (JSON).
type classRecord struct {
	Tenant     string    `json:"tenant"`
	ClassID    uint64    `json:"classId"`
	Version    int64     `json:"version"`
	Encoder    string    `json:"encoder,omitempty"`
	Vectors    int       `json:"vectors,omitempty"`
	Enrolled   int       `json:"enrolled,omitempty"`
	Tags       []string  `json:"tags,omitempty"`
	Thumbnails []string  `json:"thumbnails,omitempty"`
	Sealed     []byte    `json:"sealed,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
	// Deleted marks the tombstone of a deleted class, which keeps its last
	// version so that a class created again under the id starts above it
	// (a writer holding a version of the deleted class cannot overwrite
	// the new one).
	Deleted bool `json:"deleted,omitempty"`
}

func (r classRecord) class() store.Class {
	return store.Class{
		Tenant:     r.Tenant,
		ClassID:    r.ClassID,
		Version:    r.Version,
		Encoder:    r.Encoder,
		Vectors:    r.Vectors,
		Enrolled:   r.Enrolled,
		Tags:       r.Tags,
		Thumbnails: r.Thumbnails,
		Sealed:     r.Sealed,
		Created:    r.Created,
		Updated:    r.Updated,
	}
}

func tenantPrefix(tenant string) []byte { return appendPart(nil, tenant) }

func classKey(tenant string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(tenantPrefix(tenant), id)
}

func galleryKey(tenant, name string) []byte { return append(tenantPrefix(tenant), name...) }

// memberPrefix is the prefix of the members entries of a gallery.
func memberPrefix(tenant, name string) []byte { return appendPart(tenantPrefix(tenant), name) }

func memberKey(tenant, name string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(memberPrefix(tenant, name), id)
}

// memberOfPrefix is the prefix of the memberof entries of a class id.
func memberOfPrefix(tenant string, id uint64) []byte { return classKey(tenant, id) }

func memberOfKey(tenant string, id uint64, name string) []byte {
	return append(memberOfPrefix(tenant, id), name...)
}

func classIDString(id uint64) string { return strconv.FormatUint(id, 10) }

// GetClass returns a class.
func (s *Store) GetClass(ctx context.Context, tenant string, classID uint64) (store.Class, error) {
	if err := store.CheckClassRead("get class", tenant, classID); err != nil {
		return store.Class{}, err
	}
	var out store.Class
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketClasses).Get(classKey(tenant, classID))
		if v == nil {
			return notFound("class", tenant, classIDString(classID))
		}
		var r classRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode class: %w", err)
		}
		if r.Deleted {
			return notFound("class", tenant, classIDString(classID))
		}
		out = r.class()
		return nil
	})
	if err != nil {
		return store.Class{}, fmt.Errorf("get class: %w", err)
	}
	return out, nil
}

// PutClass writes a class if its stored version is c.Version (0: absent).
func (s *Store) PutClass(ctx context.Context, c store.Class) (store.Class, error) {
	if err := ident.Check("tenant", c.Tenant); err != nil {
		return store.Class{}, fmt.Errorf("put class: %w", err)
	}
	if err := ident.CheckClassID(c.ClassID); err != nil {
		return store.Class{}, fmt.Errorf("put class: %w", err)
	}
	if err := ident.CheckClassSize(ident.ClassSize(c.Encoder, c.Sealed, c.Tags, c.Thumbnails)); err != nil {
		return store.Class{}, fmt.Errorf("put class %s/%d: %w", c.Tenant, c.ClassID, err)
	}
	out := c
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClasses)
		k := classKey(c.Tenant, c.ClassID)
		now := s.now().UTC()
		var stored, last int64 // stored: 0 when absent; last: a tombstone's
		if v := b.Get(k); v != nil {
			var r classRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode class: %w", err)
			}
			if r.Deleted {
				last = r.Version
			} else {
				stored = r.Version
				out.Created = r.Created
			}
		}
		if stored == 0 && out.Created.IsZero() {
			out.Created = now
		}
		if c.Version != stored {
			return fmt.Errorf("stored version %d, not %d: %w", stored, c.Version, store.ErrConflict)
		}
		out.Version = max(stored, last) + 1
		out.Created = out.Created.UTC()
		if out.Updated.IsZero() {
			out.Updated = now
		}
		out.Updated = out.Updated.UTC()
		return put(b, k, classRecord{
			Tenant:     out.Tenant,
			ClassID:    out.ClassID,
			Version:    out.Version,
			Encoder:    out.Encoder,
			Vectors:    out.Vectors,
			Enrolled:   out.Enrolled,
			Tags:       out.Tags,
			Thumbnails: out.Thumbnails,
			Sealed:     out.Sealed,
			Created:    out.Created,
			Updated:    out.Updated,
		})
	})
	if err != nil {
		return store.Class{}, fmt.Errorf("put class %s/%d: %w", c.Tenant, c.ClassID, err)
	}
	return out, nil
}

// DeleteClass removes a class and its memberships, in one transaction,
// and returns the class removed. Memberships of an id without a class are
// removed too (and ErrNotFound reported).
func (s *Store) DeleteClass(ctx context.Context, tenant string, classID uint64) (store.Class, error) {
	if err := store.CheckClassRead("delete class", tenant, classID); err != nil {
		return store.Class{}, err
	}
	var old *classRecord
	err := s.update(ctx, func(tx *bolt.Tx) error {
		classes := tx.Bucket(bucketClasses)
		k := classKey(tenant, classID)
		if v := classes.Get(k); v != nil {
			var r classRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode class: %w", err)
			}
			if !r.Deleted {
				old = &r
				// A tombstone keeps the version (see classRecord.Deleted).
				tomb := classRecord{Tenant: tenant, ClassID: classID, Version: r.Version, Deleted: true}
				if err := put(classes, k, tomb); err != nil {
					return err
				}
			}
		}
		names, err := galleriesOf(tx, tenant, classID)
		if err != nil {
			return err
		}
		for _, name := range names {
			if _, err := changeMembers(tx, tenant, name, []uint64{classID}, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.Class{}, fmt.Errorf("delete class %s/%d: %w", tenant, classID, err)
	}
	if old == nil {
		return store.Class{}, notFound("class", tenant, classIDString(classID))
	}
	return old.class(), nil
}
