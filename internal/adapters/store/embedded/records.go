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

// apiKeyRecord is an API key as stored (JSON).
type apiKeyRecord struct {
	Hash    string    `json:"hash"`
	Tenant  string    `json:"tenant"`
	Name    string    `json:"name,omitempty"`
	Scopes  []string  `json:"scopes,omitempty"`
	Created time.Time `json:"created"`
}

func notFound(what string, ids ...string) error {
	return fmt.Errorf("%s %s: %w", what, strings.Join(ids, "/"), store.ErrNotFound)
}

// checkRead validates identifiers of a read: an invalid one names no
// record, so it is reported as not found. The same identifiers as the
// DynamoDB store's are accepted.
func checkRead(what string, kindValue ...string) error {
	if err := ident.CheckAll(kindValue...); err != nil {
		return fmt.Errorf("%s: %w (%w)", what, store.ErrNotFound, err)
	}
	return nil
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

func put(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return b.Put(k, data)
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
	if err := checkRead("get session", "tenant", tenant, "session id", id); err != nil {
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

// UpdateSessionData replaces the session's Data when it still holds old.
func (s *Store) UpdateSessionData(ctx context.Context, tenant, id string, old, data []byte) error {
	if err := checkRead("update session", "tenant", tenant, "session id", id); err != nil {
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
	if err := checkRead("delete session", "tenant", tenant, "session id", id); err != nil {
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
	if err := checkRead("get face", "tenant", tenant, "session id", sessionID, "face id", faceID); err != nil {
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
	if err := checkRead("list faces", "tenant", tenant, "session id", sessionID); err != nil {
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
	if err := checkRead("delete face", "tenant", tenant, "session id", sessionID, "face id", faceID); err != nil {
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
	if err := checkRead("delete faces", "tenant", tenant, "session id", sessionID); err != nil {
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
		})
	})
	if err != nil {
		return fmt.Errorf("put API key: %w", err)
	}
	return nil
}

// GetAPIKey returns the API key of a hash.
func (s *Store) GetAPIKey(ctx context.Context, hash string) (store.APIKey, error) {
	if err := checkRead("get API key", "API key hash", hash); err != nil {
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
		out = store.APIKey{Hash: r.Hash, Tenant: r.Tenant, Name: r.Name, Scopes: r.Scopes, Created: r.Created}
		return nil
	})
	if err != nil {
		return store.APIKey{}, fmt.Errorf("get API key: %w", err)
	}
	return out, nil
}
