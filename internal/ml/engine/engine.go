// Package engine assembles the face pipeline from the verified model files:
// it finds the layers (Lambda's /opt or the repository's layers/ folder),
// opens ONNX Runtime once per process and loads each model once.
package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/ml/inference"
	"github.com/facelambda/facelambda/internal/ml/modelset"
)

// Config says where the layers are and how sessions run.
type Config struct {
	ModelDir         string // folder with the *.onnx files (Lambda: /opt/models)
	LibraryPath      string // libonnxruntime.so.1 (Lambda: /opt/lib/libonnxruntime.so.1)
	IntraOpThreads   int
	Spinning         bool
	FullOptimization bool
	// Provider is the ONNX Runtime execution provider: "cpu" ("" means it),
	// "cuda" or "auto" (CUDA when it works, else the CPU); see
	// inference.Options.
	Provider string
	// CUDADevice is the CUDA device ordinal for "cuda" and "auto" ("" = "0").
	CUDADevice string
}

// FromSettings is the engine configuration of the models settings m
// (config.Models, read from FACELAMBDA_MODEL_DIR, FACELAMBDA_ORT_*,
// FACELAMBDA_CUDA_DEVICE), falling back to the Lambda layer mounts when
// present and otherwise to the repository's layers/.
func FromSettings(m config.Models) Config {
	c := Config{ModelDir: m.Dir, LibraryPath: m.ORTLibrary, IntraOpThreads: m.Threads, Spinning: m.Spinning,
		FullOptimization: m.OptimizeAll, Provider: m.Provider, CUDADevice: m.CUDADevice}
	if c.ModelDir == "" || c.LibraryPath == "" {
		md, lib := DefaultPaths()
		if c.ModelDir == "" {
			c.ModelDir = md
		}
		if c.LibraryPath == "" {
			c.LibraryPath = lib
		}
	}
	return c
}

// InferenceOptions are the ONNX Runtime options of c, for every package that
// opens the runtime (the face engine, the liveness models).
func (c Config) InferenceOptions() inference.Options {
	return inference.Options{LibraryPath: c.LibraryPath, IntraOpThreads: c.IntraOpThreads, Spinning: c.Spinning,
		FullOptimization: c.FullOptimization, Provider: c.Provider, CUDADevice: c.CUDADevice}
}

// DefaultPaths returns Lambda's layer mounts when they exist, else the
// layers/ folder of the repository that contains the working directory.
func DefaultPaths() (modelDir, library string) {
	if _, err := os.Stat("/opt/models/fr_feature.onnx"); err == nil {
		return "/opt/models", "/opt/lib/libonnxruntime.so.1"
	}
	if root, err := RepoRoot(); err == nil {
		return filepath.Join(root, "layers", "models"), filepath.Join(root, "layers", "runtime", "lib", "libonnxruntime.so.1")
	}
	return "/opt/models", "/opt/lib/libonnxruntime.so.1"
}

// RepoRoot walks up from the working directory to the folder holding go.mod
// and layers/.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "layers")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found")
		}
		dir = parent
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Engine is the loaded pipeline.
type Engine struct {
	*face.Engine
	// Encoder identifies the embedding model; templates carry it.
	Encoder string
	// RuntimeVersion is ONNX Runtime's version string.
	RuntimeVersion string
	// Raw gives access to each loaded model by manifest name (for benchmarks).
	Raw map[string]*inference.Model
	// dims is the embedding's length (the manifest's output shape).
	dims int
}

// EmbeddingDims is the number of dimensions of the encoder's templates.
func (e *Engine) EmbeddingDims() int { return e.dims }

var (
	mu     sync.Mutex
	cached = map[Config]*Engine{}
)

// Open loads the engine for cfg once per process and returns the same
// engine to later callers.
func Open(cfg Config) (*Engine, error) {
	mu.Lock()
	defer mu.Unlock()
	if e, ok := cached[cfg]; ok {
		return e, nil
	}
	man, err := modelset.Embedded()
	if err != nil {
		return nil, err
	}
	rt, err := inference.Open(cfg.InferenceOptions(), man)
	if err != nil {
		return nil, err
	}
	raw := map[string]*inference.Model{}
	for _, name := range []string{"detector", "landmarks", "embedding", "eyes", "pose"} {
		m, err := rt.Load(cfg.ModelDir, name)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		raw[name] = m
	}
	fe, err := face.New(face.Models{
		Detector: raw["detector"], Landmarks: raw["landmarks"], Embedding: raw["embedding"],
		Eyes: raw["eyes"], Pose: raw["pose"],
	}, face.DefaultConfig)
	if err != nil {
		return nil, err
	}
	emb, _ := man.Lookup("embedding")
	e := &Engine{Engine: fe, Encoder: emb.Encoder, RuntimeVersion: rt.Version(), Raw: raw}
	if n := len(emb.Outputs); n > 0 {
		if sh := emb.Outputs[0].Shape; len(sh) > 0 {
			e.dims = int(sh[len(sh)-1])
		}
	}
	cached[cfg] = e
	return e, nil
}
