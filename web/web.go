// Package web holds the browser liveness client: the page, its style and
// the JavaScript module compiled from src/*.ts (dist/liveness.js, built by
// `make web` with the esbuild pinned in go.mod). The liveness function and
// `facelambda serve` serve them under /web/ (internal/transport/httpapi).
// See README.md.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
)

//go:embed liveness.html liveness.css dist/liveness.js
var files embed.FS

// File is one served file.
type File struct {
	Name        string
	ContentType string
	Data        []byte
	// ETag is a strong entity tag of Data.
	ETag string
}

// sources maps the served names to the embedded files.
var sources = map[string]struct{ path, contentType string }{
	"liveness.html": {"liveness.html", "text/html; charset=utf-8"},
	"liveness.css":  {"liveness.css", "text/css; charset=utf-8"},
	"liveness.js":   {"dist/liveness.js", "text/javascript; charset=utf-8"},
}

// Names lists the served file names.
func Names() []string {
	out := make([]string, 0, len(sources))
	for n := range sources {
		out = append(out, n)
	}
	return out
}

// Lookup returns the served file name, or false when there is none.
func Lookup(name string) (File, bool) {
	s, ok := sources[name]
	if !ok {
		return File{}, false
	}
	data, err := files.ReadFile(s.path)
	if err != nil {
		panic(fmt.Sprintf("web: embedded %s: %v", s.path, err)) // the embed directive lists it
	}
	sum := sha256.Sum256(data)
	return File{Name: name, ContentType: s.contentType, Data: data, ETag: `"` + hex.EncodeToString(sum[:12]) + `"`}, true
}
