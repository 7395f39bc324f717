package embedded

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
	if err := store.CheckRead("get gallery", "tenant", tenant, "gallery name", name); err != nil {
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
	if err := store.CheckRead("list galleries", "tenant", tenant); err != nil {
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
	if err := store.CheckRead("delete gallery", "tenant", tenant, "gallery name", name); err != nil {
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
