package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
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

// galleryRecord is a gallery as stored (JSON).
type galleryRecord struct {
	Tenant      string    `json:"tenant"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Version     int64     `json:"version"`
	Members     int       `json:"members"`
	Created     time.Time `json:"created"`
	// Deleted marks the tombstone of a deleted gallery, which keeps its
	// last version so that the versions of a name never repeat.
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

func (r galleryRecord) gallery() store.Gallery {
	return store.Gallery{
		Tenant:      r.Tenant,
		Name:        r.Name,
		Description: r.Description,
		Version:     r.Version,
		Members:     r.Members,
		Created:     r.Created,
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

// checkClassRead validates the identifiers of a read of a class.
func checkClassRead(what, tenant string, id uint64) error {
	if err := checkRead(what, "tenant", tenant); err != nil {
		return err
	}
	if err := ident.CheckClassID(id); err != nil {
		return fmt.Errorf("%s: %w (%w)", what, store.ErrNotFound, err)
	}
	return nil
}

// uniqueIDs returns the distinct ids, sorted, or an error for an id 0.
func uniqueIDs(ids []uint64) ([]uint64, error) {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 {
		if err := ident.CheckClassID(out[0]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// getGallery reads a live gallery in tx (nil when absent or deleted).
func getGallery(tx *bolt.Tx, tenant, name string) (*galleryRecord, error) {
	r, err := readGallery(tx, tenant, name)
	if err != nil || r == nil || r.Deleted {
		return nil, err
	}
	return r, nil
}

// readGallery reads a gallery or its tombstone in tx (nil when absent).
func readGallery(tx *bolt.Tx, tenant, name string) (*galleryRecord, error) {
	v := tx.Bucket(bucketGalleries).Get(galleryKey(tenant, name))
	if v == nil {
		return nil, nil
	}
	var r galleryRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode gallery %s/%s: %w", tenant, name, err)
	}
	return &r, nil
}

// GetClass returns a class.
func (s *Store) GetClass(ctx context.Context, tenant string, classID uint64) (store.Class, error) {
	if err := checkClassRead("get class", tenant, classID); err != nil {
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
	if err := checkClassRead("delete class", tenant, classID); err != nil {
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

// CreateGallery stores a new gallery without members: at Version 1, or
// above the last version of a deleted gallery of the name.
func (s *Store) CreateGallery(ctx context.Context, g store.Gallery) error {
	if err := ident.CheckAll("tenant", g.Tenant, "gallery name", g.Name); err != nil {
		return fmt.Errorf("create gallery: %w", err)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := readGallery(tx, g.Tenant, g.Name)
		if err != nil {
			return err
		}
		if old != nil && !old.Deleted {
			return store.ErrExists
		}
		version := int64(1)
		if old != nil {
			version = old.Version + 1
		}
		created := g.Created
		if created.IsZero() {
			created = s.now()
		}
		return put(tx.Bucket(bucketGalleries), galleryKey(g.Tenant, g.Name), galleryRecord{
			Tenant:      g.Tenant,
			Name:        g.Name,
			Description: g.Description,
			Version:     version,
			Created:     created.UTC(),
		})
	})
	if err != nil {
		return fmt.Errorf("create gallery %s/%s: %w", g.Tenant, g.Name, err)
	}
	return nil
}

// GetGallery returns a gallery.
func (s *Store) GetGallery(ctx context.Context, tenant, name string) (store.Gallery, error) {
	if err := checkRead("get gallery", "tenant", tenant, "gallery name", name); err != nil {
		return store.Gallery{}, err
	}
	var out store.Gallery
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := getGallery(tx, tenant, name)
		if err != nil {
			return err
		}
		if r == nil {
			return notFound("gallery", tenant, name)
		}
		out = r.gallery()
		return nil
	})
	if err != nil {
		return store.Gallery{}, fmt.Errorf("get gallery: %w", err)
	}
	return out, nil
}

// ListGalleries returns the tenant's galleries, sorted by name.
func (s *Store) ListGalleries(ctx context.Context, tenant string) ([]store.Gallery, error) {
	if err := checkRead("list galleries", "tenant", tenant); err != nil {
		return nil, err
	}
	out := []store.Gallery{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := tenantPrefix(tenant)
		c := tx.Bucket(bucketGalleries).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r galleryRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode gallery: %w", err)
			}
			if !r.Deleted {
				out = append(out, r.gallery())
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list galleries: %w", err)
	}
	return out, nil
}

// DeleteGallery removes a gallery and its memberships, in one transaction,
// leaving a tombstone with the version one up.
func (s *Store) DeleteGallery(ctx context.Context, tenant, name string) error {
	if err := checkRead("delete gallery", "tenant", tenant, "gallery name", name); err != nil {
		return err
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		r, err := getGallery(tx, tenant, name)
		if err != nil {
			return err
		}
		if r == nil {
			return notFound("gallery", tenant, name)
		}
		tomb := galleryRecord{Tenant: tenant, Name: name, Version: r.Version + 1, Created: r.Created, Deleted: true}
		if err := put(tx.Bucket(bucketGalleries), galleryKey(tenant, name), tomb); err != nil {
			return err
		}
		prefix := memberPrefix(tenant, name)
		members := tx.Bucket(bucketMembers)
		memberOf := tx.Bucket(bucketMemberOf)
		c := members.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			id := binary.BigEndian.Uint64(k[len(prefix):])
			if err := memberOf.Delete(memberOfKey(tenant, id, name)); err != nil {
				return err
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete gallery %s/%s: %w", tenant, name, err)
	}
	return nil
}

// AddMembers adds class ids to a gallery.
func (s *Store) AddMembers(ctx context.Context, tenant, name string, classIDs []uint64) (store.Gallery, error) {
	return s.changeMembers(ctx, "add members", tenant, name, classIDs, true)
}

// RemoveMembers removes class ids from a gallery.
func (s *Store) RemoveMembers(ctx context.Context, tenant, name string, classIDs []uint64) (store.Gallery, error) {
	return s.changeMembers(ctx, "remove members", tenant, name, classIDs, false)
}

func (s *Store) changeMembers(ctx context.Context, what, tenant, name string, classIDs []uint64, add bool) (store.Gallery, error) {
	if err := checkRead(what, "tenant", tenant, "gallery name", name); err != nil {
		return store.Gallery{}, err
	}
	ids, err := uniqueIDs(classIDs)
	if err != nil {
		return store.Gallery{}, fmt.Errorf("%s %s/%s: %w", what, tenant, name, err)
	}
	var out store.Gallery
	err = s.update(ctx, func(tx *bolt.Tx) error {
		g, err := changeMembers(tx, tenant, name, ids, add)
		if err != nil {
			return err
		}
		if g == nil {
			return notFound("gallery", tenant, name)
		}
		out = g.gallery()
		return nil
	})
	if err != nil {
		return store.Gallery{}, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// changeMembers adds (or removes) ids to (from) a gallery in tx, counting
// and bumping the version when anything changed, and returns the gallery
// (nil when absent).
func changeMembers(tx *bolt.Tx, tenant, name string, ids []uint64, add bool) (*galleryRecord, error) {
	g, err := getGallery(tx, tenant, name)
	if err != nil || g == nil {
		return g, err
	}
	members := tx.Bucket(bucketMembers)
	memberOf := tx.Bucket(bucketMemberOf)
	changed := 0
	for _, id := range ids {
		k := memberKey(tenant, name, id)
		if (members.Get(k) != nil) == add {
			continue
		}
		rk := memberOfKey(tenant, id, name)
		if add {
			err = members.Put(k, present)
			if err == nil {
				err = memberOf.Put(rk, present)
			}
		} else {
			err = members.Delete(k)
			if err == nil {
				err = memberOf.Delete(rk)
			}
		}
		if err != nil {
			return nil, err
		}
		changed++
	}
	if changed == 0 {
		return g, nil
	}
	if add {
		g.Members += changed
	} else {
		g.Members -= changed
	}
	g.Version++
	if err := put(tx.Bucket(bucketGalleries), galleryKey(tenant, name), g); err != nil {
		return nil, err
	}
	return g, nil
}

// Members pages through a gallery's class ids in ascending order.
func (s *Store) Members(ctx context.Context, tenant, name string, after uint64, limit int) ([]uint64, uint64, error) {
	if err := checkRead("members", "tenant", tenant, "gallery name", name); err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = ident.DefaultMembersLimit
	}
	ids := []uint64{}
	var next uint64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		g, err := getGallery(tx, tenant, name)
		if err != nil {
			return err
		}
		if g == nil {
			return notFound("gallery", tenant, name)
		}
		if after == math.MaxUint64 {
			return nil
		}
		prefix := memberPrefix(tenant, name)
		c := tx.Bucket(bucketMembers).Cursor()
		for k, _ := c.Seek(memberKey(tenant, name, after+1)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(ids) == limit {
				next = ids[limit-1]
				break
			}
			ids = append(ids, binary.BigEndian.Uint64(k[len(prefix):]))
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("members: %w", err)
	}
	return ids, next, nil
}

// GalleriesOf lists the galleries a class id belongs to, sorted by name.
func (s *Store) GalleriesOf(ctx context.Context, tenant string, classID uint64) ([]string, error) {
	if err := checkClassRead("galleries of", tenant, classID); err != nil {
		return nil, err
	}
	var names []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		names, err = galleriesOf(tx, tenant, classID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("galleries of %s/%d: %w", tenant, classID, err)
	}
	return names, nil
}

// galleriesOf returns the names of the galleries of a class id in tx, in
// byte order.
func galleriesOf(tx *bolt.Tx, tenant string, classID uint64) ([]string, error) {
	names := []string{}
	prefix := memberOfPrefix(tenant, classID)
	c := tx.Bucket(bucketMemberOf).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		names = append(names, string(k[len(prefix):]))
	}
	return names, nil
}
