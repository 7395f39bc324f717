// Package testkit locates the repository's files for tests, whatever
// package directory the test runs in.
package testkit

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	rootOnce sync.Once
	root     string
)

// Root is the repository's root: the nearest folder above the working
// directory holding go.mod. The test fails when there is none.
func Root(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		for err == nil {
			if _, serr := os.Stat(filepath.Join(dir, "go.mod")); serr == nil {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	if root == "" {
		t.Fatal("testkit: no go.mod above the working directory")
	}
	return root
}

// Path is the repository file at the slash-free parts under the root
// ("template.yaml", "docs", "api.md").
func Path(t testing.TB, parts ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Root(t)}, parts...)...)
}

// Testdata is the file at parts under the repository's testdata folder.
func Testdata(t testing.TB, parts ...string) string {
	t.Helper()
	return Path(t, append([]string{"testdata"}, parts...)...)
}

// Read returns the bytes of the testdata file at parts; the test fails
// when it cannot be read.
func Read(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(Testdata(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Shared is the file at parts under the evaluation data folder ../shared
// next to the repository; the test is skipped, with a message saying so,
// when it is absent.
func Shared(t testing.TB, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{filepath.Dir(Root(t)), "shared"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("evaluation data %s is absent (../shared next to the repository): %v", p, err)
	}
	return p
}
