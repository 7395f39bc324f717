package embedded_test

import (
	"bytes"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/adapters/store/storetest"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/store"
)

// sealer is a sealer under a fixed local master key.
func sealer(t *testing.T) *envelope.Sealer {
	t.Helper()
	k, err := envelope.NewLocalKey(bytes.Repeat([]byte{3}, 32))
	require.NoError(t, err)
	return envelope.NewSealer(k, envelope.Options{})
}

// openSealed opens a store in dir that seals its blobs.
func openSealed(t *testing.T, dir string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(dir, embedded.WithSealer(sealer(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// jpeg is data that starts like a JPEG and is easy to find in a file.
var jpeg = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte("face-pixels-"), 200)...)

// filesContaining lists the files under dir that contain needle.
func filesContaining(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			out = append(out, p)
		}
		return nil
	}))
	return out
}

func TestSealedBlobs(t *testing.T) {
	storetest.Blobs(t, func(t *testing.T) store.Blobs {
		s := openSealed(t, t.TempDir())
		serve(t, s)
		return s
	})
}

// A sealing store keeps no image bytes readable in its files, through Put
// and through upload URLs, and reports the data's size.
func TestSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	s := openSealed(t, dir)
	serve(t, s)
	ctx := t.Context()
	require.NoError(t, s.Put(ctx, "sessions/t/s/f.img", jpeg, "image/jpeg"))
	u, err := s.PresignPut(ctx, "uploads/t/u1", "image/jpeg", 1<<20, time.Minute)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, put(t, u, "image/jpeg", jpeg).StatusCode)

	assert.Empty(t, filesContaining(t, dir, jpeg[:32]), "image bytes readable at rest")
	for _, key := range []string{"sessions/t/s/f.img", "uploads/t/u1"} {
		got, ct, err := s.Get(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, jpeg, got)
		assert.Equal(t, "image/jpeg", ct)
		n, err := s.Size(ctx, key)
		require.NoError(t, err)
		assert.EqualValues(t, len(jpeg), n, "Size is the data's")
	}

	// A file moved to another key does not open.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "blobs", "sessions", "t", "s2"), 0o700))
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "sessions", "t", "s", "f.img"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blobs", "sessions", "t", "s2", "f.img"), b, 0o600))
	_, _, err = s.Get(ctx, "sessions/t/s2/f.img")
	assert.ErrorIs(t, err, envelope.ErrAuthentication)

	// Another master key cannot read them.
	require.NoError(t, s.Close())
	other, err := envelope.NewLocalKey(bytes.Repeat([]byte{4}, 32))
	require.NoError(t, err)
	s2, err := embedded.Open(dir, embedded.WithSealer(envelope.NewSealer(other, envelope.Options{})))
	require.NoError(t, err)
	defer s2.Close()
	_, _, err = s2.Get(ctx, "uploads/t/u1")
	assert.ErrorIs(t, err, envelope.ErrUnknownKey)
}

// writeFile writes a blob file directly, as an older version (or a crash)
// left it.
func writeFile(t *testing.T, dir, key string, data []byte, age time.Duration) {
	t.Helper()
	p := filepath.Join(dir, "blobs", filepath.FromSlash(key))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(t, os.WriteFile(p, data, 0o600))
	if age > 0 {
		old := time.Now().Add(-age)
		require.NoError(t, os.Chtimes(p, old, old))
	}
}

// setTypes records content types in the database, as older versions did.
func setTypes(t *testing.T, dir string, types map[string]string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "records.db"), 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		for k, v := range types {
			if err := tx.Bucket([]byte("blobtypes")).Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	}))
}

func typeRecorded(t *testing.T, dir, key string) bool {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "records.db"), 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	var ok bool
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket([]byte("blobtypes")).Get([]byte(key)) != nil
		return nil
	}))
	return ok
}

func exists(dir, key string) bool {
	_, err := os.Stat(filepath.Join(dir, "blobs", filepath.FromSlash(key)))
	return err == nil
}

// Opening the store purges the blobs of sessions that are gone with their
// records, removes thumbnails no class names and stale uploads, repairs
// files a crash left without a content type, drops content types without
// files, and seals what an older version stored in clear.
func TestOpenChecksBlobs(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := embedded.Open(dir)
	require.NoError(t, err)
	now := time.Now()
	require.NoError(t, s.CreateSession(ctx, store.Session{Tenant: "t", ID: "live", Expires: now.Add(time.Hour)}))
	require.NoError(t, s.CreateSession(ctx, store.Session{Tenant: "t", ID: "dying", Expires: now.Add(300 * time.Millisecond)}))
	for _, k := range []string{"sessions/t/live/f.img", "sessions/t/dying/f.img", "sessions/t/dying/recording/r.zip",
		"liveness-uploads/t/dying/r.zip", "liveness-uploads/t/live/r.zip"} {
		require.NoError(t, s.Put(ctx, k, jpeg, "image/jpeg"))
	}
	named := store.ThumbnailPrefix("t", 7) + "named.jpg"
	orphan := store.ThumbnailPrefix("t", 7) + "orphan.jpg"
	gone := store.ThumbnailPrefix("t", 8) + "gone.jpg"
	for _, k := range []string{named, orphan, gone} {
		require.NoError(t, s.Put(ctx, k, jpeg, "image/jpeg"))
	}
	_, err = s.PutClass(ctx, store.Class{Tenant: "t", ClassID: 7, Encoder: "e", Thumbnails: []string{named}})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// What an older version or a crash left.
	writeFile(t, dir, "sessions/t/live/untyped.img", jpeg, 0)  // renamed, type never recorded
	writeFile(t, dir, "sessions/t/live/legacy.img", jpeg, 0)   // clear, type recorded
	writeFile(t, dir, "uploads/t/stale", jpeg, 3*24*time.Hour) // never consumed
	writeFile(t, dir, "uploads/t/fresh", jpeg, 0)              // may still be
	setTypes(t, dir, map[string]string{"sessions/t/live/legacy.img": "image/x-legacy", "sessions/t/live/nofile.img": "image/jpeg"})
	time.Sleep(400 * time.Millisecond) // the dying session expires

	s = openSealed(t, dir)
	for key, want := range map[string]bool{
		"sessions/t/live/f.img": true, "sessions/t/dying/f.img": false, "sessions/t/dying/recording/r.zip": false,
		"liveness-uploads/t/dying/r.zip": false, "liveness-uploads/t/live/r.zip": true,
		named: true, orphan: false, gone: false, "uploads/t/stale": false, "uploads/t/fresh": true,
		"sessions/t/live/untyped.img": true, "sessions/t/live/legacy.img": true,
	} {
		assert.Equal(t, want, exists(dir, key), key)
	}
	assert.Empty(t, filesContaining(t, filepath.Join(dir, "blobs"), jpeg[:32]), "every blob sealed at open")
	for key, ct := range map[string]string{
		"sessions/t/live/f.img": "image/jpeg", "sessions/t/live/untyped.img": "image/jpeg",
		"sessions/t/live/legacy.img": "image/x-legacy", named: "image/jpeg",
	} {
		got, gotCT, err := s.Get(ctx, key)
		require.NoError(t, err, key)
		assert.Equal(t, jpeg, got, key)
		assert.Equal(t, ct, gotCT, key)
	}
	require.NoError(t, s.Close())
	assert.False(t, typeRecorded(t, dir, "sessions/t/live/nofile.img"), "a content type without a file")
	assert.False(t, typeRecorded(t, dir, "sessions/t/live/legacy.img"), "moved into the sealed file")
}
