package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// faceRecord is a face as stored (JSON).
type faceRecord struct {
	Tenant    string    `json:"tenant"`
	SessionID string    `json:"sessionId"`
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Data      []byte    `json:"data,omitempty"`
	Template  []byte    `json:"template,omitempty"`
	HasImage  bool      `json:"hasImage,omitempty"`
}

func (r faceRecord) face() store.Face {
	return store.Face{
		Tenant:    r.Tenant,
		SessionID: r.SessionID,
		ID:        r.ID,
		Created:   r.Created,
		Expires:   r.Expires,
		Data:      r.Data,
		Template:  r.Template,
		HasImage:  r.HasImage,
	}
}

// PutFace stores a face in a live session, with the session's expiry.
func (s *Store) PutFace(ctx context.Context, f store.Face) (store.Face, error) {
	if err := ident.CheckAll("tenant", f.Tenant, "session id", f.SessionID); err != nil {
		return store.Face{}, fmt.Errorf("put face: %w (%w)", store.ErrNotFound, err)
	}
	if err := ident.Check("face id", f.ID); err != nil {
		return store.Face{}, fmt.Errorf("put face: %w", err)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		sess, err := s.liveSession(tx, f.Tenant, f.SessionID)
		if err != nil {
			return err
		}
		faces := tx.Bucket(bucketFaces)
		k := faceKey(f.Tenant, f.SessionID, f.ID)
		if faces.Get(k) != nil {
			return fmt.Errorf("face %s: %w", f.ID, store.ErrExists)
		}
		f.Expires = sess.Expires
		if f.Created.IsZero() {
			f.Created = s.now()
		}
		f.Created = f.Created.UTC()
		return put(faces, k, faceRecord{
			Tenant:    f.Tenant,
			SessionID: f.SessionID,
			ID:        f.ID,
			Created:   f.Created,
			Expires:   f.Expires,
			Data:      f.Data,
			Template:  f.Template,
			HasImage:  f.HasImage,
		})
	})
	if err != nil {
		return store.Face{}, fmt.Errorf("put face %s/%s/%s: %w", f.Tenant, f.SessionID, f.ID, err)
	}
	return f, nil
}

// GetFace returns a face of a live session.
func (s *Store) GetFace(ctx context.Context, tenant, sessionID, faceID string) (store.Face, error) {
	if err := store.CheckRead("get face", "tenant", tenant, "session id", sessionID, "face id", faceID); err != nil {
		return store.Face{}, err
	}
	var out store.Face
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if _, err := s.liveSession(tx, tenant, sessionID); err != nil {
			return err
		}
		v := tx.Bucket(bucketFaces).Get(faceKey(tenant, sessionID, faceID))
		if v == nil {
			return notFound("face", tenant, sessionID, faceID)
		}
		var r faceRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode face: %w", err)
		}
		if !r.Expires.After(s.now()) {
			return notFound("face", tenant, sessionID, faceID)
		}
		out = r.face()
		return nil
	})
	if err != nil {
		return store.Face{}, fmt.Errorf("get face: %w", err)
	}
	return out, nil
}

// ListFaces returns the faces of a live session, oldest first (ties by
// id).
func (s *Store) ListFaces(ctx context.Context, tenant, sessionID string) ([]store.Face, error) {
	if err := store.CheckRead("list faces", "tenant", tenant, "session id", sessionID); err != nil {
		return nil, err
	}
	var faces []store.Face
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if _, err := s.liveSession(tx, tenant, sessionID); err != nil {
			return err
		}
		now := s.now()
		prefix := facePrefix(tenant, sessionID)
		c := tx.Bucket(bucketFaces).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r faceRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode face: %w", err)
			}
			if r.Expires.After(now) {
				faces = append(faces, r.face())
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list faces: %w", err)
	}
	slices.SortFunc(faces, func(a, b store.Face) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if faces == nil {
		faces = []store.Face{}
	}
	return faces, nil
}

// DeleteFace removes a face of a live session.
func (s *Store) DeleteFace(ctx context.Context, tenant, sessionID, faceID string) error {
	if err := store.CheckRead("delete face", "tenant", tenant, "session id", sessionID, "face id", faceID); err != nil {
		return err
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := s.liveSession(tx, tenant, sessionID); err != nil {
			return err
		}
		faces := tx.Bucket(bucketFaces)
		k := faceKey(tenant, sessionID, faceID)
		if faces.Get(k) == nil {
			return notFound("face", tenant, sessionID, faceID)
		}
		return faces.Delete(k)
	})
	if err != nil {
		return fmt.Errorf("delete face: %w", err)
	}
	return nil
}

// DeleteFaces removes every face of a live session and returns how many.
func (s *Store) DeleteFaces(ctx context.Context, tenant, sessionID string) (int, error) {
	if err := store.CheckRead("delete faces", "tenant", tenant, "session id", sessionID); err != nil {
		return 0, err
	}
	var n int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := s.liveSession(tx, tenant, sessionID); err != nil {
			return err
		}
		var err error
		n, err = deleteFaces(tx, tenant, sessionID, s.now())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete faces: %w", err)
	}
	return n, nil
}

// deleteFaces removes every face of a session in tx and returns how many
// were live at now.
func deleteFaces(tx *bolt.Tx, tenant, sessionID string, now time.Time) (int, error) {
	prefix := facePrefix(tenant, sessionID)
	c := tx.Bucket(bucketFaces).Cursor()
	live := 0
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Seek(prefix) {
		var r faceRecord
		if err := json.Unmarshal(v, &r); err == nil && r.Expires.After(now) {
			live++
		}
		if err := c.Delete(); err != nil {
			return 0, fmt.Errorf("delete face: %w", err)
		}
	}
	return live, nil
}
