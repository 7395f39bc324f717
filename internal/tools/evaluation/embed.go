package evaluation

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

// Embeddings are the results of embedding images, keyed by path.
type Embeddings = map[string]dataset.Result[[]float32]

// EmbedAll embeds each distinct image (paths relative to root) once, in
// parallel, with the service's own pipeline; progress goes to log.
func EmbedAll(ctx context.Context, svc *biometric.Service, root string, paths []string, workers int, log io.Writer) Embeddings {
	return dataset.Map(ctx, paths, workers, func(p string) ([]float32, error) {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return nil, err
		}
		a, err := svc.Analyze(b, biometric.Options{Label: p})
		if err != nil {
			return nil, err
		}
		return a.Template.Vector, nil
	}, Progress(log, "embedding"))
}

// Progress reports every 500 items and the last on log, as "label: n/total".
func Progress(log io.Writer, label string) func(done, total int) {
	return func(done, total int) {
		if done%500 == 0 || done == total {
			fmt.Fprintf(log, "\r%s: %d/%d", label, done, total)
			if done == total {
				fmt.Fprintln(log)
			}
		}
	}
}

// EmbeddingCachePath is the cache file of an encoder and decoder under the
// repository's .tools/cache, or "" when the repository is not found.
func EmbeddingCachePath(encoder string) string {
	root, err := engine.RepoRoot()
	if err != nil {
		return ""
	}
	dec := "turbo"
	if env, err := config.Load(); err == nil && env.Models.PureGoDecode {
		dec = "purego"
	}
	return filepath.Join(root, ".tools", "cache", "embeddings-"+encoder+"-"+dec+".gob")
}

// cachedEmbedding is one image's embedding (or the error embedding it).
type cachedEmbedding struct {
	Size    int64
	ModTime int64
	Vector  []float32
	Err     string
}

// EmbedCached is [EmbedAll] with a cache of results keyed by the image's
// absolute path, size and modification time (cachePath "" disables it). A
// missing or unreadable cache is rebuilt; it is an optimisation only.
func EmbedCached(ctx context.Context, svc *biometric.Service, root string, paths []string, workers int, cachePath string, log io.Writer) Embeddings {
	if cachePath == "" {
		return EmbedAll(ctx, svc, root, paths, workers, log)
	}
	cache := map[string]cachedEmbedding{}
	if f, err := os.Open(cachePath); err == nil {
		if err := gob.NewDecoder(f).Decode(&cache); err != nil {
			fmt.Fprintf(log, "embedding cache %s unreadable (%v): rebuilding\n", cachePath, err)
			cache = map[string]cachedEmbedding{}
		}
		f.Close()
	}
	out := make(map[string]dataset.Result[[]float32], len(paths))
	keys := map[string]string{}
	stats := map[string]os.FileInfo{}
	var missing []string
	for _, p := range paths {
		abs, err := filepath.Abs(filepath.Join(root, p))
		if err != nil {
			missing = append(missing, p)
			continue
		}
		keys[p] = abs
		st, err := os.Stat(abs)
		if err != nil {
			missing = append(missing, p)
			continue
		}
		stats[p] = st
		c, ok := cache[abs]
		if !ok || c.Size != st.Size() || c.ModTime != st.ModTime().UnixNano() {
			missing = append(missing, p)
			continue
		}
		if c.Err != "" {
			out[p] = dataset.Result[[]float32]{Err: errors.New(c.Err)}
		} else {
			out[p] = dataset.Result[[]float32]{Value: c.Vector}
		}
	}
	if len(missing) == 0 {
		fmt.Fprintf(log, "embeddings: %d from %s\n", len(out), cachePath)
		return out
	}
	fmt.Fprintf(log, "embeddings: %d cached, %d to compute\n", len(out), len(missing))
	fresh := EmbedAll(ctx, svc, root, missing, workers, log)
	for p, r := range fresh {
		out[p] = r
		st, ok := stats[p]
		if !ok || ctx.Err() != nil {
			continue
		}
		c := cachedEmbedding{Size: st.Size(), ModTime: st.ModTime().UnixNano(), Vector: r.Value}
		if r.Err != nil {
			c.Err = r.Err.Error()
		}
		cache[keys[p]] = c
	}
	if ctx.Err() == nil {
		if err := writeGob(cachePath, cache); err != nil {
			fmt.Fprintf(log, "embedding cache not written: %v\n", err)
		}
	}
	return out
}

func writeGob(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".embeddings-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := gob.NewEncoder(tmp).Encode(v); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
