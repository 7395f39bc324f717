package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// defaultContentType is reported for a blob whose content type is unknown.
const defaultContentType = "application/octet-stream"

// blobPath returns the file of a checked key.
func (s *Store) blobPath(key string) string {
	return filepath.Join(s.dir, blobsDir, filepath.FromSlash(key))
}

// Put stores data under key. Keys are checked (characters [A-Za-z0-9._/-],
// no empty, "." or ".." segments), so a key is always a path inside the
// blob directory. A key cannot also be a prefix directory of another key
// ("a/b" and "a/b/c"), as on a file system.
func (s *Store) Put(ctx context.Context, key string, data []byte, contentType string) error {
	if err := ident.CheckKey(key); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	if err := s.putReader(ctx, key, bytes.NewReader(data), contentType); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	return nil
}

// putReader reads r, writes the blob file (see sealing.go) to a temporary
// file, then renames it to the key's file.
func (s *Store) putReader(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	file, err := s.encodeBlob(ctx, key, data, contentType)
	if err != nil {
		return err
	}
	tmp, err := s.writeTemp(file)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // no-op once renamed
	if err := ctx.Err(); err != nil {
		return err
	}

	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	return s.install(key, tmp)
}

// writeTemp writes b to a new file in the temporary directory, synced.
func (s *Store) writeTemp(b []byte) (string, error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, tmpDir), "blob-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// install renames the blob file tmp to key's file, first removing a
// content type recorded for an older file of the key (which would make
// the new file read as raw data). s.blobMu is held.
func (s *Store) install(key, tmp string) error {
	dst := s.blobPath(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if _, legacy, err := s.legacyType(key); err != nil {
		return err
	} else if legacy {
		err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketBlobTypes).Delete([]byte(key))
		})
		if err != nil {
			return err
		}
	}
	return os.Rename(tmp, dst)
}

// Get returns the blob under key and its content type.
func (s *Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := ident.CheckKey(key); err != nil {
		return nil, "", fmt.Errorf("get blob: %w (%w)", store.ErrNotFound, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	s.blobMu.RLock()
	defer s.blobMu.RUnlock()
	data, err := os.ReadFile(s.blobPath(key))
	if err != nil {
		if isNotExist(err) {
			return nil, "", fmt.Errorf("get blob %s: %w", key, store.ErrNotFound)
		}
		return nil, "", fmt.Errorf("get blob %s: %w", key, err)
	}
	contentType, legacy, err := s.legacyType(key)
	if err != nil {
		return nil, "", fmt.Errorf("get blob %s: %w", key, err)
	}
	if legacy { // written before the file format: raw data
		return data, contentType, nil
	}
	data, contentType, err = s.decodeBlob(ctx, key, data)
	if err != nil {
		return nil, "", fmt.Errorf("get blob %s: %w", key, err)
	}
	if contentType == "" {
		contentType = defaultContentType
	}
	return data, contentType, nil
}

// isNotExist reports whether a file error means there is no blob: no such
// file, a file where a directory was expected, or a directory.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

// Delete removes the blob under key; an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ident.CheckKey(key); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	p := s.blobPath(key)
	if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("delete blob %s: %w", key, err)
		}
		s.pruneDirs(filepath.Dir(p))
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBlobTypes).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// DeletePrefix removes every blob whose key starts with prefix (a string
// prefix, as in S3: "t/s1" also matches "t/s10/x"). The prefix may not be
// empty.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := ident.CheckPrefix(prefix); err != nil {
		return fmt.Errorf("delete blobs: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.blobMu.Lock()
	defer s.blobMu.Unlock()

	root := filepath.Join(s.dir, blobsDir)
	// Walk from the deepest directory the prefix names completely.
	dirKey := path.Dir(prefix + "x")
	start := root
	if dirKey != "." {
		start = filepath.Join(root, filepath.FromSlash(dirKey))
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if isNotExist(err) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			if p == start || strings.HasPrefix(key+"/", prefix) || strings.HasPrefix(prefix, key+"/") {
				return nil
			}
			return filepath.SkipDir
		}
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete blobs %s*: %w", prefix, err)
	}
	s.pruneTree(start)
	err = s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketBlobTypes).Cursor()
		p := []byte(prefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Seek(p) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete blobs %s*: content types: %w", prefix, err)
	}
	return nil
}

// pruneDirs removes dir and its parents while they are empty, up to the
// blob directory.
func (s *Store) pruneDirs(dir string) {
	root := filepath.Join(s.dir, blobsDir)
	for dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if os.Remove(dir) != nil { // not empty (or gone)
			return
		}
		dir = filepath.Dir(dir)
	}
}

// pruneTree removes the empty directories under and including dir (then
// its empty parents).
func (s *Store) pruneTree(dir string) {
	root := filepath.Join(s.dir, blobsDir)
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != root {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i]) // fails when not empty
	}
	if dir != root {
		s.pruneDirs(filepath.Dir(dir))
	}
}

// Size reports a blob's size without reading it.
func (s *Store) Size(ctx context.Context, key string) (int64, error) {
	if err := ident.CheckKey(key); err != nil {
		return 0, fmt.Errorf("size of blob: %w (%w)", store.ErrNotFound, err)
	}
	s.blobMu.RLock()
	defer s.blobMu.RUnlock()
	p := s.blobPath(key)
	fi, err := os.Stat(p)
	if err == nil && fi.IsDir() {
		err = syscall.EISDIR
	}
	if err != nil {
		if isNotExist(err) {
			return 0, fmt.Errorf("size of blob %s: %w", key, store.ErrNotFound)
		}
		return 0, fmt.Errorf("size of blob %s: %w", key, err)
	}
	if _, legacy, err := s.legacyType(key); err != nil || legacy {
		return fi.Size(), err
	}
	n, err := dataSize(p, fi.Size())
	if err != nil {
		return 0, fmt.Errorf("size of blob %s: %w", key, err)
	}
	return n, nil
}
