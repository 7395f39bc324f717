// Package dataset reads the evaluation data formats (pairs files, labels
// files) and embeds many images in parallel, each distinct image once.
package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Pair is one line of a pairs file.
type Pair struct {
	A, B string
	Same bool
	Fold int // 0 when the file gives none
}

// ReadPairs reads "imgA imgB same [fold]" lines (tab or space separated;
// same is 1/0 or true/false; a header line and # comments are skipped).
func ReadPairs(path string) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Pair
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 3 {
			return nil, fmt.Errorf("%s:%d: want imgA imgB same [fold]", path, n)
		}
		same, err := parseBool(fs[2])
		if err != nil {
			if n == 1 && len(out) == 0 {
				continue // header
			}
			return nil, fmt.Errorf("%s:%d: same: %w", path, n, err)
		}
		p := Pair{A: fs[0], B: fs[1], Same: same}
		if len(fs) > 3 {
			if p.Fold, err = strconv.Atoi(fs[3]); err != nil {
				return nil, fmt.Errorf("%s:%d: fold: %w", path, n, err)
			}
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not 1/0", s)
}

// ReadTSV reads a tab-separated file with a header line into rows keyed by
// column name.
func ReadTSV(path string) ([]map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if len(lines) == 0 {
		return nil, errors.New("empty file")
	}
	head := strings.Split(lines[0], "\t")
	var rows []map[string]string
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		cols := strings.Split(l, "\t")
		row := map[string]string{}
		for i, h := range head {
			if i < len(cols) {
				row[h] = cols[i]
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Images lists the image files under root (relative paths, sorted).
func Images(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".jpg", ".jpeg", ".png", ".webp", ".gif":
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out, err
}

// Result is the outcome of processing one image.
type Result[T any] struct {
	Value T
	Err   error
}

// Map runs fn on every distinct item with the given number of workers
// (0: one per CPU) and returns the results by item. progress, when not nil,
// is called after each item with the count done.
func Map[T any](ctx context.Context, items []string, workers int, fn func(string) (T, error), progress func(done, total int)) map[string]Result[T] {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	seen := map[string]bool{}
	var uniq []string
	for _, it := range items {
		if !seen[it] {
			seen[it] = true
			uniq = append(uniq, it)
		}
	}
	out := make(map[string]Result[T], len(uniq))
	var mu sync.Mutex
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(uniq) || ctx.Err() != nil {
					return
				}
				v, err := fn(uniq[i])
				mu.Lock()
				out[uniq[i]] = Result[T]{v, err}
				mu.Unlock()
				if progress != nil {
					progress(int(done.Add(1)), len(uniq))
				}
			}
		}()
	}
	wg.Wait()
	return out
}
