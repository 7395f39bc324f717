// Package embedded is the store of the local server: pure Go, in one
// directory, surviving restarts. Records (sessions, faces, API keys) and
// classes (templates, galleries and their members) live in a bbolt
// database, <dir>/records.db, where every operation is one transaction, so
// the conditional writes of store.Records and store.Classes are plain
// reads-then-writes. Blobs are files, <dir>/blobs/<key>, each holding its
// content type and its data, sealed under the local master key when the
// store is opened WithSealer (the content types of blobs written by older
// versions are kept in the database). Presigned uploads go to the local server's
// UploadHandler, signed with a secret kept in <dir>/upload.key.
//
// Layout of <dir>:
//
//	records.db   bbolt: buckets sessions, faces, apikeys, blobtypes,
//	             classes, galleries, members, memberof (see classes.go)
//	upload.key   HMAC-SHA256 secret of presigned upload URLs (hex, 0600)
//	blobs/<key>  blob data, with its content type, sealed under the local
//	             master key when the store has one (see sealing.go)
//	tmp/         blobs being written (renamed into blobs/ when complete)
package embedded

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/store"
)

// Names inside the store's directory.
const (
	recordsFile = "records.db"
	keyFile     = "upload.key"
	blobsDir    = "blobs"
	tmpDir      = "tmp"
)

// bbolt buckets.
var (
	bucketSessions  = []byte("sessions")
	bucketFaces     = []byte("faces")
	bucketAPIKeys   = []byte("apikeys")
	bucketBlobTypes = []byte("blobtypes")
)

// Store implements store.Records, store.Blobs and store.Classes in a
// directory.
type Store struct {
	dir    string
	db     *bolt.DB
	secret []byte
	// blobMu orders the renames of blob files with their content types.
	blobMu sync.RWMutex
	// sealer, when set, seals the blobs written (WithSealer).
	sealer *envelope.Sealer

	// BaseURL is the local server's URL (such as "http://127.0.0.1:3000"),
	// where PresignPut URLs point; UploadHandler must be served there.
	BaseURL string
	// OnUpload, when set, is called with the key of every object stored
	// through an upload URL (as S3 notifies object creation).
	OnUpload func(key string)
	// Now is the clock used for expiry (time.Now by default).
	Now func() time.Time
}

var (
	_ store.Records = (*Store)(nil)
	_ store.Blobs   = (*Store)(nil)
)

// Open opens (creating it if needed) the store in dir. Only one process
// can have it open at a time. Opening purges expired records and the
// blobs of sessions that are gone, and repairs what a crash may have left
// (see check.go).
func Open(dir string, opts ...Option) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, blobsDir), filepath.Join(dir, tmpDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open store %s: %w", dir, err)
		}
	}
	secret, err := loadSecret(filepath.Join(dir, keyFile))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	db, err := bolt.Open(filepath.Join(dir, recordsFile), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			err = fmt.Errorf("%w (is another process using it?)", err)
		}
		return nil, fmt.Errorf("open store %s: %s: %w", dir, recordsFile, err)
	}
	s := &Store{dir: dir, db: db, secret: secret, Now: time.Now}
	for _, o := range opts {
		o(s)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{
			bucketSessions, bucketFaces, bucketAPIKeys, bucketBlobTypes,
			bucketClasses, bucketGalleries, bucketMembers, bucketMemberOf, bucketClaims,
		} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return s.purgeExpired(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	// Leftovers of writes cut short by a crash.
	if err := removeContents(filepath.Join(dir, tmpDir)); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if err := s.checkBlobs(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.dir, err)
	}
	return nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Ping checks the database is open.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.db.View(func(*bolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("ping store %s: %w", s.dir, err)
	}
	return nil
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// loadSecret reads the upload secret at path, creating it the first time.
func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(secret) < 32 {
			return nil, fmt.Errorf("%s: not a hex secret of at least 32 bytes", path)
		}
		return secret, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read upload secret: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generate upload secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // created concurrently
			return loadSecret(path)
		}
		return nil, fmt.Errorf("write upload secret: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(secret) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write upload secret: %w", err)
	}
	return secret, nil
}

// removeContents removes everything inside dir.
func removeContents(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("clean %s: %w", dir, err)
		}
	}
	return nil
}

// appendPart appends a length-prefixed part to a key, so that keys made of
// several parts are unambiguous whatever the parts contain.
func appendPart(k []byte, part string) []byte {
	k = binary.AppendUvarint(k, uint64(len(part)))
	return append(k, part...)
}

func sessionKey(tenant, id string) []byte {
	return appendPart(appendPart(nil, tenant), id)
}

// facePrefix is the prefix of the keys of every face of a session.
func facePrefix(tenant, sessionID string) []byte { return sessionKey(tenant, sessionID) }

func faceKey(tenant, sessionID, id string) []byte {
	return appendPart(facePrefix(tenant, sessionID), id)
}
