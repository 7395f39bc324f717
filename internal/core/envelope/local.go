package envelope

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// LocalKeyFile is the master key file's name in a data directory (the
// local server keeps its data under .data/).
const LocalKeyFile = "template-master.key"

// LocalKey is a [KeyProvider] for the local server: a 32-byte master key in
// a file wraps the data keys with AES-256-GCM, the encryption context as
// additional data. Its key id is "local:" and the first 8 bytes of the
// key's SHA-256, in hex, so a blob names the master key it needs.
type LocalKey struct {
	id   string
	aead cipher.AEAD
}

// OpenLocalKey reads the master key at path, creating it (32 random
// bytes, mode 0600, atomically: concurrent first runs agree on one key)
// when the file does not exist. An existing file must hold exactly 32
// bytes and be readable by its owner only.
func OpenLocalKey(path string) (*LocalKey, error) {
	b, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(path); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		b, err = readKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	return NewLocalKey(b)
}

// NewLocalKey uses a 32-byte master key held in memory.
func NewLocalKey(master []byte) (*LocalKey, error) {
	aead, err := NewGCM(master)
	if err != nil {
		return nil, fmt.Errorf("envelope: local master key: %w", err)
	}
	sum := sha256.Sum256(master)
	return &LocalKey{id: "local:" + hex.EncodeToString(sum[:8]), aead: aead}, nil
}

func readKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("envelope: master key %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("envelope: master key %s holds %d bytes, want 32", path, len(b))
	}
	return b, nil
}

// createKeyFile writes a new key to a temporary file and links it into
// place, which fails (fs.ErrExist) if another process got there first.
func createKeyFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

// ID is the key id written into blobs.
func (l *LocalKey) ID() string { return l.id }

// contextBytes is a canonical encoding of an encryption context.
func contextBytes(ec KeyContext) []byte {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := []byte("facelambda/local-wrap/v1\x00")
	for _, k := range keys {
		b = fmt.Appendf(b, "%d:%s=%d:%s;", len(k), k, len(ec[k]), ec[k])
	}
	return b
}

// GenerateDataKey returns a random data key wrapped as nonce || GCM
// ciphertext under the master key.
func (l *LocalKey) GenerateDataKey(_ context.Context, ec KeyContext) ([]byte, []byte, string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, "", err
	}
	wrapped, err := AppendSealed(l.aead, make([]byte, 0, nonceLen+32+tagLen), key, contextBytes(ec))
	if err != nil {
		return nil, nil, "", err
	}
	return key, wrapped, l.id, nil
}

// Decrypt unwraps a data key; another master key gives [ErrUnknownKey],
// an altered key or another context [ErrAuthentication].
func (l *LocalKey) Decrypt(_ context.Context, wrapped []byte, keyID string, ec KeyContext) ([]byte, error) {
	if keyID != l.id {
		return nil, fmt.Errorf("%w: %s (this master key is %s)", ErrUnknownKey, keyID, l.id)
	}
	if len(wrapped) != nonceLen+32+tagLen {
		return nil, ErrAuthentication
	}
	key, err := OpenSealed(l.aead, wrapped, contextBytes(ec))
	if err != nil {
		return nil, ErrAuthentication
	}
	return key, nil
}
