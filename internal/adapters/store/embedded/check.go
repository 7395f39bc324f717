package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// UploadLifetime is how long an upload (uploads/, liveness-uploads/) is
// kept when nothing consumes it: the bucket's lifecycle rules in AWS, done
// at open here.
const UploadLifetime = 48 * time.Hour

// checkBlobs runs at open, when no request can be in flight, after expired
// records were purged. It removes
//   - the blobs of sessions that are gone (expired or deleted:
//     store.SessionBlobPrefix, liveness-uploads/<tenant>/<session>/),
//   - thumbnails no stored class names (an enrolment cut short between
//     storing its thumbnails and its template: store.ThumbnailPrefix),
//   - uploads older than UploadLifetime,
//   - content types recorded for files that are not there;
//
// repairs a file that is in neither format (a raw file whose content type
// was never recorded: a crash between the two steps of older versions) by
// re-writing it with the content type its bytes show; and, when the store
// seals, re-writes sealed every blob stored in clear.
func (s *Store) checkBlobs(ctx context.Context) error {
	root := filepath.Join(s.dir, blobsDir)
	var keys []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return fmt.Errorf("check blobs: %w", err)
	}
	var removed, repaired, sealed int
	for _, key := range keys {
		drop, err := s.orphan(key)
		if err != nil {
			return fmt.Errorf("check blob %s: %w", key, err)
		}
		if drop {
			if err := os.Remove(s.blobPath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("check blob %s: %w", key, err)
			}
			s.pruneDirs(filepath.Dir(s.blobPath(key)))
			removed++
			continue
		}
		fixed, resealed, err := s.rewriteIfNeeded(ctx, key)
		if err != nil {
			return fmt.Errorf("check blob %s: %w", key, err)
		}
		if fixed {
			repaired++
		}
		if resealed {
			sealed++
		}
	}
	types, err := s.dropDeadTypes()
	if err != nil {
		return fmt.Errorf("check blobs: %w", err)
	}
	if removed+repaired+sealed+types > 0 {
		slog.Info("store opened: blobs checked", "dir", s.dir, "removed", removed, "repaired", repaired,
			"sealed", sealed, "deadContentTypes", types)
	}
	return nil
}

// orphan reports whether the blob at key belongs to nothing stored.
func (s *Store) orphan(key string) (bool, error) {
	parts := strings.Split(key, "/")
	switch {
	case len(parts) >= 4 && (parts[0] == "sessions" || parts[0] == "liveness-uploads"):
		var live bool
		err := s.db.View(func(tx *bolt.Tx) error {
			r, err := getSession(tx, parts[1], parts[2])
			live = err == nil && r != nil && r.Expires.After(s.now())
			return err
		})
		return !live, err
	case len(parts) >= 4 && parts[0] == "templates":
		id, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil || id == 0 || ident.Check("tenant", parts[1]) != nil {
			return false, nil // not a thumbnail key
		}
		var named bool
		err = s.db.View(func(tx *bolt.Tx) error {
			v := tx.Bucket(bucketClasses).Get(classKey(parts[1], id))
			if v == nil {
				return nil
			}
			var r classRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode class: %w", err)
			}
			named = !r.Deleted && slices.Contains(r.Thumbnails, key)
			return nil
		})
		return !named, err
	case parts[0] == "uploads" || parts[0] == "liveness-uploads":
		fi, err := os.Stat(s.blobPath(key))
		if err != nil {
			return false, err
		}
		return s.now().Sub(fi.ModTime()) > UploadLifetime, nil
	}
	return false, nil
}

// rewriteIfNeeded re-writes the blob at key in the current format when it
// is in neither format (repaired: its content type is sniffed), or when
// the store seals and it is in clear (resealed).
func (s *Store) rewriteIfNeeded(ctx context.Context, key string) (repaired, resealed bool, err error) {
	if ident.CheckKey(key) != nil {
		return false, false, nil // not written by Put
	}
	ct, legacy, err := s.legacyType(key)
	if err != nil {
		return false, false, err
	}
	if !legacy {
		// Most files are fine: look at their header only.
		head, err := readHead(s.blobPath(key), maxBlobHeader)
		if err != nil {
			return false, false, err
		}
		if _, sealedBody, _, herr := blobHeader(head); herr == nil && (sealedBody || s.sealer == nil) {
			return false, false, nil
		}
	}
	file, err := os.ReadFile(s.blobPath(key))
	if err != nil {
		return false, false, err
	}
	data := file
	switch {
	case legacy:
		if s.sealer == nil {
			return false, false, nil
		}
		resealed = true
	default:
		hct, sealedBody, off, herr := blobHeader(file)
		switch {
		case herr != nil:
			ct, repaired = http.DetectContentType(file), true
		case sealedBody || s.sealer == nil:
			return false, false, nil
		default:
			ct, data, resealed = hct, file[off:], true
		}
	}
	out, err := s.encodeBlob(ctx, key, data, ct)
	if err != nil {
		return false, false, err
	}
	tmp, err := s.writeTemp(out)
	if err != nil {
		return false, false, err
	}
	defer os.Remove(tmp)
	return repaired, resealed, s.install(key, tmp)
}

// readHead reads at most n bytes from the start of the file at path.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:m], nil
}

// dropDeadTypes removes the content types recorded for files that are not
// there (and returns how many).
func (s *Store) dropDeadTypes() (int, error) {
	var dead [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBlobTypes).ForEach(func(k, _ []byte) error {
			fi, err := os.Stat(s.blobPath(string(k)))
			if ident.CheckKey(string(k)) != nil || errors.Is(err, fs.ErrNotExist) || err == nil && fi.IsDir() {
				dead = append(dead, append([]byte(nil), k...))
			}
			return nil
		})
	})
	if err != nil || len(dead) == 0 {
		return 0, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, k := range dead {
			if err := tx.Bucket(bucketBlobTypes).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return len(dead), err
}
