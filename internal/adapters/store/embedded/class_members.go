package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// AddMembers adds class ids to a gallery.
func (s *Store) AddMembers(ctx context.Context, tenant, name string, classIDs []uint64) (store.Gallery, error) {
	return s.changeMembers(ctx, "add members", tenant, name, classIDs, true)
}

// RemoveMembers removes class ids from a gallery.
func (s *Store) RemoveMembers(ctx context.Context, tenant, name string, classIDs []uint64) (store.Gallery, error) {
	return s.changeMembers(ctx, "remove members", tenant, name, classIDs, false)
}

func (s *Store) changeMembers(ctx context.Context, what, tenant, name string, classIDs []uint64, add bool) (store.Gallery, error) {
	if err := store.CheckRead(what, "tenant", tenant, "gallery name", name); err != nil {
		return store.Gallery{}, err
	}
	ids, err := ident.UniqueClassIDs(classIDs)
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
	if err := store.CheckRead("members", "tenant", tenant, "gallery name", name); err != nil {
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
	if err := store.CheckClassRead("galleries of", tenant, classID); err != nil {
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
