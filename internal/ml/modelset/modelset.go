// Package modelset reads the model manifest (layers/models/manifest.json),
// locates each file on disk and verifies its SHA-256 before anything loads it.
package modelset

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/facelambda/facelambda/layers/models"
)

// Tensor names one input or output of a model and its shape.
type Tensor struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	// Meaning says what an output holds when its name does not.
	Meaning string `json:"meaning,omitempty"`
}

// File is one manifest entry: a model or the runtime library.
type File struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"` // "model" or "library"
	File        string   `json:"file"`
	SHA256      string   `json:"sha256"`
	Package     string   `json:"package"`
	Version     string   `json:"version"`
	PackagePath string   `json:"package_path"`
	License     string   `json:"license"`
	Mount       string   `json:"mount"`
	Encoder     string   `json:"encoder,omitempty"`
	Inputs      []Tensor `json:"inputs,omitempty"`
	Outputs     []Tensor `json:"outputs,omitempty"`
}

// Manifest lists every file the engine may load.
type Manifest struct {
	Version int    `json:"manifest_version"`
	Files   []File `json:"files"`
}

// ErrHashMismatch reports a file whose content differs from the manifest.
var ErrHashMismatch = errors.New("file does not match the model manifest")

// Embedded returns the manifest compiled into the binary.
func Embedded() (*Manifest, error) { return Parse(models.Manifest) }

// Parse decodes and validates a manifest.
func Parse(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("model manifest: %w", err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("model manifest: unsupported manifest_version %d", m.Version)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if f.Name == "" || f.File == "" || len(f.SHA256) != 64 {
			return nil, fmt.Errorf("model manifest: entry %q needs name, file and a 64-digit sha256", f.Name)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("model manifest: duplicate entry %q", f.Name)
		}
		seen[f.Name] = true
	}
	return &m, nil
}

// Lookup returns the entry with the given name.
func (m *Manifest) Lookup(name string) (File, error) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, nil
		}
	}
	return File{}, fmt.Errorf("model manifest has no entry %q", name)
}

// Read loads the named entry from dir and returns its bytes after checking
// the SHA-256. Callers load the returned bytes, not the path, so what was
// verified is what runs.
func (m *Manifest) Read(dir, name string) ([]byte, File, error) {
	f, err := m.Lookup(name)
	if err != nil {
		return nil, f, err
	}
	path := filepath.Join(dir, f.File)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, f, fmt.Errorf("%s (%s %s): %w; run `make layers` to fetch it", name, f.Package, f.Version, err)
	}
	if err := f.check(path, b); err != nil {
		return nil, f, err
	}
	return b, f, nil
}

// Verify checks the file of the named entry at path.
func (m *Manifest) Verify(path, name string) (File, error) {
	f, err := m.Lookup(name)
	if err != nil {
		return f, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("%s (%s %s): %w; run `make layers` to fetch it", name, f.Package, f.Version, err)
	}
	return f, f.check(path, b)
}

func (f File) check(path string, b []byte) error {
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
		return fmt.Errorf("%w: %s has SHA-256 %s but the manifest expects %s (%s from %s@%s); refusing to load it",
			ErrHashMismatch, path, got, f.SHA256, f.PackagePath, f.Package, f.Version)
	}
	return nil
}
