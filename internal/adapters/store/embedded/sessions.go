package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// sessionRecord is a session as stored (JSON).
type sessionRecord struct {
	Tenant        string    `json:"tenant"`
	ID            string    `json:"id"`
	CorrelationID string    `json:"correlationId,omitempty"`
	ImageStorage  bool      `json:"imageStorage,omitempty"`
	CallbackURL   string    `json:"callbackUrl,omitempty"`
	Created       time.Time `json:"created"`
	Expires       time.Time `json:"expires"`
	Data          []byte    `json:"data,omitempty"`
}

// getSession reads a session in tx, live or not (nil when absent).
func getSession(tx *bolt.Tx, tenant, id string) (*sessionRecord, error) {
	v := tx.Bucket(bucketSessions).Get(sessionKey(tenant, id))
	if v == nil {
		return nil, nil
	}
	var r sessionRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode session %s/%s: %w", tenant, id, err)
	}
	return &r, nil
}

// liveSession reads a live session in tx, or returns store.ErrNotFound.
func (s *Store) liveSession(tx *bolt.Tx, tenant, id string) (*sessionRecord, error) {
	r, err := getSession(tx, tenant, id)
	if err != nil {
		return nil, err
	}
	if r == nil || !r.Expires.After(s.now()) {
		return nil, notFound("session", tenant, id)
	}
	return r, nil
}

// CreateSession stores a new session. The id of an expired session can be
// taken again; the expired session's faces are removed then.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	if err := ident.CheckAll("tenant", sess.Tenant, "session id", sess.ID); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if sess.Expires.IsZero() {
		return fmt.Errorf("create session %s/%s: %w: no expiry", sess.Tenant, sess.ID, ident.ErrInvalid)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		now := s.now()
		old, err := getSession(tx, sess.Tenant, sess.ID)
		if err != nil {
			return err
		}
		if old != nil {
			if old.Expires.After(now) {
				return store.ErrExists
			}
			if _, err := deleteFaces(tx, sess.Tenant, sess.ID, now); err != nil {
				return err
			}
		}
		if sess.Created.IsZero() {
			sess.Created = now
		}
		return put(tx.Bucket(bucketSessions), sessionKey(sess.Tenant, sess.ID), sessionRecord{
			Tenant:        sess.Tenant,
			ID:            sess.ID,
			CorrelationID: sess.CorrelationID,
			ImageStorage:  sess.ImageStorage,
			CallbackURL:   sess.CallbackURL,
			Created:       sess.Created.UTC(),
			Expires:       sess.Expires.UTC(),
			Data:          sess.Data,
		})
	})
	if err != nil {
		return fmt.Errorf("create session %s/%s: %w", sess.Tenant, sess.ID, err)
	}
	return nil
}

// GetSession returns a live session.
func (s *Store) GetSession(ctx context.Context, tenant, id string) (store.Session, error) {
	if err := store.CheckRead("get session", "tenant", tenant, "session id", id); err != nil {
		return store.Session{}, err
	}
	var out store.Session
	err := s.view(ctx, func(tx *bolt.Tx) error {
		r, err := s.liveSession(tx, tenant, id)
		if err != nil {
			return err
		}
		out = r.session()
		return nil
	})
	if err != nil {
		return store.Session{}, fmt.Errorf("get session: %w", err)
	}
	return out, nil
}

func (r sessionRecord) session() store.Session {
	return store.Session{
		Tenant:        r.Tenant,
		ID:            r.ID,
		CorrelationID: r.CorrelationID,
		ImageStorage:  r.ImageStorage,
		CallbackURL:   r.CallbackURL,
		Created:       r.Created,
		Expires:       r.Expires,
		Data:          r.Data,
	}
}

// UpdateSessionData replaces the session's Data when it still holds old.
func (s *Store) UpdateSessionData(ctx context.Context, tenant, id string, old, data []byte) error {
	if err := store.CheckRead("update session", "tenant", tenant, "session id", id); err != nil {
		return err
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		r, err := s.liveSession(tx, tenant, id)
		if err != nil {
			return err
		}
		if !bytes.Equal(r.Data, old) {
			return store.ErrConflict
		}
		r.Data = data
		return put(tx.Bucket(bucketSessions), sessionKey(tenant, id), r)
	})
	if err != nil {
		return fmt.Errorf("update session %s/%s: %w", tenant, id, err)
	}
	return nil
}

// DeleteSession removes the session and its faces in one transaction
// (store.ErrNotFound when it was missing or expired; what was left of it
// is removed all the same).
func (s *Store) DeleteSession(ctx context.Context, tenant, id string) error {
	if err := store.CheckRead("delete session", "tenant", tenant, "session id", id); err != nil {
		return err
	}
	var live bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		now := s.now()
		r, err := getSession(tx, tenant, id)
		if err != nil {
			return err
		}
		live = r != nil && r.Expires.After(now)
		if err := tx.Bucket(bucketSessions).Delete(sessionKey(tenant, id)); err != nil {
			return err
		}
		_, err = deleteFaces(tx, tenant, id, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session %s/%s: %w", tenant, id, err)
	}
	if !live {
		return notFound("session", tenant, id)
	}
	return nil
}
