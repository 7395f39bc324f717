package liveness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/inference"
	"github.com/facelambda/facelambda/internal/ml/modelset"
	"github.com/facelambda/facelambda/layers/models"
)

// ManifestModel is a manifest entry that carries a liveness Spec.
type ManifestModel struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	// Optional entries may be absent from the model folder (the MiniFASNet
	// pair is not on any registry; see layers/fetch.sh): the detector then
	// runs without them, under the calibration of the smaller fusion.
	Optional bool  `json:"optional"`
	Spec     *Spec `json:"liveness"`
}

// ManifestModels lists the liveness models of a manifest (entries with a
// "liveness" object), in manifest order.
func ManifestModels(manifest []byte) ([]ManifestModel, error) {
	var m struct {
		Files []ManifestModel `json:"files"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("liveness: model manifest: %w", err)
	}
	var out []ManifestModel
	for _, f := range m.Files {
		if f.Spec == nil {
			continue
		}
		f.Spec.Name, f.Spec.SHA256 = f.Name, f.SHA256
		if err := f.Spec.validate(); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("liveness: the model manifest names no liveness model")
	}
	return out, nil
}

// ManifestTerms returns what the manifest adds to the models in the fused
// score (its top-level "liveness_terms" object; nothing when absent).
func ManifestTerms(manifest []byte) (Terms, error) {
	var m struct {
		Terms Terms `json:"liveness_terms"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return Terms{}, fmt.Errorf("liveness: model manifest: %w", err)
	}
	return m.Terms, m.Terms.validate()
}

// Loaded is what Load found.
type Loaded struct {
	Detector *Detector
	// Models are the loaded models by manifest name (for tools that try
	// other specs on them).
	Models map[string]Model
	// Missing lists the optional models whose files were absent, and
	// Optional the optional models that were loaded.
	Missing  []string
	Optional []string
}

// Load loads the liveness models the manifest names from dir, verifying
// each file's SHA-256 (a present file that does not match is an error;
// an absent optional file is skipped), and returns a detector over them.
func Load(rt *inference.Runtime, dir string, manifest []byte) (*Loaded, error) {
	entries, err := ManifestModels(manifest)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Models: map[string]Model{}}
	var scorers []*Scorer
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.File)); e.Optional && errors.Is(err, fs.ErrNotExist) {
			l.Missing = append(l.Missing, e.Name)
			continue
		}
		m, err := rt.Load(dir, e.Name)
		if err != nil {
			return nil, fmt.Errorf("liveness: %w", err)
		}
		l.Models[e.Name] = m
		if e.Optional {
			l.Optional = append(l.Optional, e.Name)
		}
		s, err := NewScorer(*e.Spec, m)
		if err != nil {
			return nil, err
		}
		scorers = append(scorers, s)
	}
	terms, err := ManifestTerms(manifest)
	if err != nil {
		return nil, err
	}
	if l.Detector, err = NewFused(terms, scorers...); err != nil {
		return nil, err
	}
	return l, nil
}

var (
	openMu sync.Mutex
	opened = map[engine.Config]*Loaded{}
)

// Open loads the liveness models for cfg once per process (the same ONNX
// Runtime library and session options as the face engine) and returns the
// same result to later callers.
func Open(cfg engine.Config) (*Loaded, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if l, ok := opened[cfg]; ok {
		return l, nil
	}
	man, err := modelset.Embedded()
	if err != nil {
		return nil, err
	}
	rt, err := inference.Open(cfg.InferenceOptions(), man)
	if err != nil {
		return nil, err
	}
	l, err := Load(rt, cfg.ModelDir, models.Manifest)
	if err != nil {
		return nil, err
	}
	opened[cfg] = l
	return l, nil
}
