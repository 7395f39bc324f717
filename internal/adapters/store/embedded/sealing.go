package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/facelambda/facelambda/internal/core/envelope"
)

// Blob files, since the content type moved into them, are
//
//	offset  size  field
//	0       4     magic "FLB1"
//	4       1     flags: bit 0 = the body is sealed
//	5       v     content type length, uvarint (at most maxContentType)
//	5+v     c     content type
//	5+v+c   ...   body: the data, or, when sealed, an envelope blob of it
//
// The data and its content type are renamed into place together, so a
// crash cannot separate them. A sealed body is bound (envelope AAD) to the
// key's tenant (its second segment), purpose "blob", and the key and
// content type: a file moved to another key does not open.
//
// Files written before this format hold the raw data, their content type
// a record in the bucket blobtypes: a file with such a record is read as
// raw (and, when the store seals, re-written sealed at open). Writing a
// key removes its record before the new file is renamed into place.
const (
	blobMagic      = "FLB1"
	blobFlagSealed = 1
	maxContentType = 1024
	blobPurpose    = "blob"
	// maxBlobHeader is the longest a blob file's header (before its body) can be.
	maxBlobHeader = len(blobMagic) + 1 + binary.MaxVarintLen64 + maxContentType
)

// Option configures Open.
type Option func(*Store)

// WithSealer makes the store seal every blob it writes with sealer (the
// local server's master key): images, thumbnails, recordings and uploads
// are then unreadable in its files. At open, blobs stored in clear are
// re-written sealed.
func WithSealer(sealer *envelope.Sealer) Option {
	return func(s *Store) { s.sealer = sealer }
}

// blobAAD binds a sealed body to its key and content type.
func blobAAD(key, contentType string) envelope.AAD {
	tenant := "-"
	if parts := strings.SplitN(key, "/", 3); len(parts) == 3 {
		tenant = parts[1] // "<area>/<tenant>/..."
	}
	return envelope.AAD{Tenant: tenant, Purpose: blobPurpose, Subject: key + "\n" + contentType}
}

// encodeBlob returns the file of a blob.
func (s *Store) encodeBlob(ctx context.Context, key string, data []byte, contentType string) ([]byte, error) {
	if len(contentType) > maxContentType {
		return nil, fmt.Errorf("content type of %d bytes (at most %d)", len(contentType), maxContentType)
	}
	var flags byte
	body := data
	if s.sealer != nil {
		var err error
		if body, err = s.sealer.Seal(ctx, data, blobAAD(key, contentType)); err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		flags |= blobFlagSealed
	}
	out := make([]byte, 0, len(blobMagic)+1+binary.MaxVarintLen64+len(contentType)+len(body))
	out = append(out, blobMagic...)
	out = append(out, flags)
	out = binary.AppendUvarint(out, uint64(len(contentType)))
	out = append(out, contentType...)
	return append(out, body...), nil
}

// errBlobFormat reports a file that is not in the blob format.
var errBlobFormat = errors.New("not a blob file")

// blobHeader parses the start of a blob file: its content type, whether
// the body is sealed, and where the body starts.
func blobHeader(b []byte) (contentType string, sealed bool, body int, err error) {
	if len(b) < len(blobMagic)+2 || !bytes.Equal(b[:len(blobMagic)], []byte(blobMagic)) {
		return "", false, 0, errBlobFormat
	}
	flags := b[len(blobMagic)]
	if flags&^blobFlagSealed != 0 {
		return "", false, 0, fmt.Errorf("%w: flags %#x", errBlobFormat, flags)
	}
	n, w := binary.Uvarint(b[len(blobMagic)+1:])
	start := len(blobMagic) + 1 + w
	if w <= 0 || n > maxContentType || uint64(len(b)-start) < n {
		return "", false, 0, fmt.Errorf("%w: content type", errBlobFormat)
	}
	end := start + int(n)
	return string(b[start:end]), flags&blobFlagSealed != 0, end, nil
}

// decodeBlob returns the data and content type of a blob file.
func (s *Store) decodeBlob(ctx context.Context, key string, file []byte) ([]byte, string, error) {
	ct, sealed, off, err := blobHeader(file)
	if err != nil {
		return nil, "", err
	}
	if !sealed {
		return file[off:], ct, nil
	}
	if s.sealer == nil {
		return nil, "", errors.New("the blob is sealed and the store has no key")
	}
	data, err := s.sealer.Open(ctx, file[off:], blobAAD(key, ct))
	if err != nil {
		return nil, "", err
	}
	return data, ct, nil
}

// dataSize returns the size of the data of the blob file at path, of
// size bytes, without opening a sealed body.
func dataSize(path string, size int64) (int64, error) {
	head, err := readHead(path, maxBlobHeader+envelope.MaxOverhead)
	if err != nil {
		return 0, err
	}
	_, sealed, off, err := blobHeader(head)
	if err != nil {
		return 0, err
	}
	n := size - int64(off)
	if sealed {
		o, err := envelope.Overhead(head[off:])
		if err != nil {
			return 0, err
		}
		n -= int64(o)
	}
	return n, nil
}

// legacyType returns the content type recorded for a blob written before
// the file format (ok false when there is none).
func (s *Store) legacyType(key string) (contentType string, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketBlobTypes).Get([]byte(key)); v != nil {
			contentType, ok = string(v), true
		}
		return nil
	})
	return contentType, ok, err
}
