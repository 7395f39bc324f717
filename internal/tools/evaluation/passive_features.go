package evaluation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/liveness"
	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/facelambda/facelambda/internal/tools/dataset"
	"github.com/facelambda/facelambda/layers/models"
)

// Per-image readings of the passive models: each model on each crop, and
// its mirror image ("_m"), as live log-odds.
const (
	FeatFRBox     = "fr_box"
	FeatFRBoxM    = "fr_box_m"
	FeatFRSquare  = "fr_sq"
	FeatFRSquareM = "fr_sq_m"
	FeatMFV2      = "mf_v2"
	FeatMFV2M     = "mf_v2_m"
	FeatMFV1SE    = "mf_v1se"
	FeatMFV1SEM   = "mf_v1se_m"
	FeatFaceH     = "face_h"
)

// readings are the model readings the feature cache holds: the feature,
// the manifest model, its crop and whether the crop is mirrored.
var readings = []struct {
	feat, model string
	crop        liveness.Crop
	flip        bool
}{
	{FeatFRBox, "liveness", liveness.Crop{Scale: 2.7, Mode: liveness.CropShift}, false},
	{FeatFRBoxM, "liveness", liveness.Crop{Scale: 2.7, Mode: liveness.CropShift}, true},
	{FeatFRSquare, "liveness", liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropShift}, false},
	{FeatFRSquareM, "liveness", liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropShift}, true},
	{FeatMFV2, "minifasnet-v2", liveness.Crop{Scale: 2.7, Mode: liveness.CropShift}, false},
	{FeatMFV2M, "minifasnet-v2", liveness.Crop{Scale: 2.7, Mode: liveness.CropShift}, true},
	{FeatMFV1SE, "minifasnet-v1se", liveness.Crop{Scale: 4.0, Mode: liveness.CropShift}, false},
	{FeatMFV1SEM, "minifasnet-v1se", liveness.Crop{Scale: 4.0, Mode: liveness.CropShift}, true},
}

// PassiveSample is one presentation with its features.
type PassiveSample struct {
	PassiveItem
	// Failed: no face found (bona fide: an error at every threshold).
	Failed bool               `json:"failed,omitempty"`
	F      map[string]float64 `json:"f,omitempty"`
}

// featureCache is the file the features are kept in.
type featureCache struct {
	Version string          `json:"version"`
	Samples []PassiveSample `json:"samples"`
}

// featureVersion identifies what made the features: the liveness models'
// digests, the readings, the cue names and the JPEG decoder; a cache of
// another version is recomputed.
func featureVersion() string {
	h := sha256.New()
	ms, _ := liveness.ManifestModels(models.Manifest)
	for _, m := range ms {
		fmt.Fprintf(h, "%s %s\n", m.Name, m.SHA256)
	}
	for _, r := range readings {
		fmt.Fprintf(h, "%s %s %+v %v\n", r.feat, r.model, r.crop, r.flip)
	}
	fmt.Fprintf(h, "cues v1 %s\n", strings.Join(liveness.CueNames, ","))
	// The JPEG decoder changes pixels slightly.
	dec := "turbo"
	if env, err := config.Load(); err == nil && env.Models.PureGoDecode {
		dec = "purego"
	}
	fmt.Fprintf(h, "decoder %s\n", dec)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// PassiveFeatures returns the features of items, reading them from cache
// (a JSON file; "" for none) where it holds them for the same models and
// cues, computing the others and writing the cache back. Items whose
// presented face is not found are left out. Progress goes to log.
func PassiveFeatures(ctx context.Context, m *LivenessModels, data string, items []PassiveItem, cache string, workers int, log io.Writer) ([]PassiveSample, error) {
	scorers, err := readers(m.Loaded)
	if err != nil {
		return nil, err
	}
	version := featureVersion()
	have := map[string]PassiveSample{}
	if cache != "" {
		if b, err := os.ReadFile(cache); err == nil {
			var c featureCache
			if json.Unmarshal(b, &c) == nil && c.Version == version {
				for _, s := range c.Samples {
					have[s.Path] = s
				}
			}
		}
	}
	byPath := map[string]PassiveItem{}
	var todo []string
	for _, it := range items {
		byPath[it.Path] = it
		if _, ok := have[it.Path]; !ok {
			todo = append(todo, it.Path)
		}
	}
	type out struct {
		s    PassiveSample
		keep bool
	}
	got := dataset.Map(ctx, todo, workers, func(p string) (out, error) {
		s, keep, err := passiveFeatures(m, scorers, filepath.Join(data, filepath.FromSlash(p)), byPath[p])
		return out{s, keep}, err
	}, Progress(log, "passive features"))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, p := range todo {
		r := got[p]
		if r.Err != nil {
			return nil, fmt.Errorf("%s: %w", p, r.Err)
		}
		if !r.Value.keep {
			r.Value.s.F = nil
			r.Value.s.Failed = true
			r.Value.s.Region = byPath[p].Region
		}
		have[p] = r.Value.s
	}
	var res []PassiveSample
	all := make([]PassiveSample, 0, len(have))
	for _, it := range items {
		s := have[it.Path]
		s.PassiveItem = it // labels from the source, not the cache
		all = append(all, s)
		if s.Failed && it.Region != nil {
			continue // no replayed face found: not a presentation
		}
		res = append(res, s)
	}
	if cache != "" && len(todo) > 0 {
		if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
			return nil, err
		}
		b, err := json.Marshal(featureCache{Version: version, Samples: all})
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(cache, b, 0o644); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// passiveFeatures decodes one image, finds the presented face and reads
// every model and cue on it. keep is false when no face (or none in the
// item's region) was found.
func passiveFeatures(m *LivenessModels, scorers map[string]*liveness.Scorer, path string, it PassiveItem) (s PassiveSample, keep bool, err error) {
	s.PassiveItem = it
	b, err := os.ReadFile(path)
	if err != nil {
		return s, false, err
	}
	res, err := decode.Decode(b, decode.Options{})
	if err != nil {
		return s, false, err
	}
	img := res.Image
	dets, err := m.Engine.Detect(img)
	if err != nil || len(dets) == 0 {
		return s, false, err
	}
	var box geometry.Box
	if it.Region == nil {
		box = dets[m.Engine.Subject(dets)].Box
	} else {
		boxes := make([]geometry.Box, len(dets))
		for i, d := range dets {
			boxes[i] = d.Box
		}
		var ok bool
		if box, ok = pickInRegion(img.W, img.H, boxes, it.Region); !ok {
			return s, false, nil
		}
	}
	s.F = PassiveReadings(scorers, img, box)
	return s, true, nil
}

// pickInRegion returns the largest of boxes (in a w x h image) whose centre
// lies in region (fractions of the image), and false when none does.
func pickInRegion(w, h int, boxes []geometry.Box, region *geometry.Box) (geometry.Box, bool) {
	best, area := -1, 0.0
	for i, b := range boxes {
		c := b.Center()
		fx, fy := c.X/float64(w), c.Y/float64(h)
		if fx >= region.X && fx <= region.X+region.W && fy >= region.Y && fy <= region.Y+region.H && b.Area() > area {
			best, area = i, b.Area()
		}
	}
	if best < 0 {
		return geometry.Box{}, false
	}
	return boxes[best], true
}

// PassiveReadings reads every model reading and image cue on face in the
// full decoded img (large faces reduced as the detector does).
func PassiveReadings(scorers map[string]*liveness.Scorer, img *raster.RGB, box geometry.Box) map[string]float64 {
	img, box = liveness.Reduce(img, box)
	f := map[string]float64{FeatFaceH: box.H}
	for _, r := range readings {
		sc := scorers[r.model]
		in, err := sc.Input(img, box, r.crop, r.flip)
		if err != nil {
			f[r.feat] = -liveness.MaxLogit
			continue
		}
		o, err := sc.Run(in)
		if err != nil || len(o) == 0 || len(o[0]) <= sc.Live {
			f[r.feat] = -liveness.MaxLogit
			continue
		}
		f[r.feat] = liveness.LiveLogit(o[0], sc.Live)
	}
	for k, v := range liveness.Cues(img, box) {
		f[k] = v
	}
	return f
}

// readers returns a scorer per model of the readings, with the
// manifest's spec of the model (input size, channels, live index).
func readers(l *liveness.Loaded) (map[string]*liveness.Scorer, error) {
	ms, err := liveness.ManifestModels(models.Manifest)
	if err != nil {
		return nil, err
	}
	out := map[string]*liveness.Scorer{}
	for _, r := range readings {
		if out[r.model] != nil {
			continue
		}
		for _, e := range ms {
			if e.Name == r.model && l.Models[r.model] != nil {
				if out[r.model], err = liveness.NewScorer(*e.Spec, l.Models[r.model]); err != nil {
					return nil, err
				}
			}
		}
		if out[r.model] == nil {
			return nil, fmt.Errorf("passive features: model %s is not loaded (run `make layers`)", r.model)
		}
	}
	return out, nil
}
