package evaluation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/liveness"
	"github.com/facelambda/facelambda/internal/ml/raster"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

// LivenessResult is the JSON report of `eval liveness`: the pooled figures
// at the top level, one object per group under Groups.
type LivenessResult struct {
	Fusion string `json:"fusion"`
	Level  string `json:"level"`
	Images int    `json:"images"`
	liveness.Report
	Groups map[string]liveness.Report `json:"groups"`
	// Models gives each model's own pooled AUC and BPCER at APCER 5%
	// (weight 0 models are reported, not fused).
	Models map[string]ModelFigures `json:"models"`
	// Levels holds, for every level, the calibrated threshold and the rates
	// measured at it on this data.
	Levels       []LevelFigures `json:"levels"`
	FailedImages []string       `json:"failed_images,omitempty"`
	// CrossValidated estimates how the level's threshold transfers to
	// unseen subjects: subject-disjoint folds, each scored at the threshold
	// calibrated on the other folds.
	CrossValidated *CrossValidated `json:"cross_validated,omitempty"`
	Compare        []CompareRow    `json:"compare,omitempty"`
}

// CrossValidated is the out-of-fold error rates at one level.
type CrossValidated struct {
	Folds int `json:"folds"`
	// Pooled and per-group rates of the out-of-fold decisions.
	APCER    float64            `json:"apcer"`
	APCERMax float64            `json:"apcer_max"`
	BPCER    float64            `json:"bpcer"`
	ACER     float64            `json:"acer"`
	Groups   map[string]GroupAt `json:"groups"`
	// Thresholds are the level's thresholds calibrated without each fold.
	Thresholds []float64 `json:"thresholds"`
}

// ModelFigures are one model's pooled figures.
type ModelFigures struct {
	AUC           float64 `json:"auc"`
	BPCERAtAPCER5 float64 `json:"bpcer_at_apcer_5"`
	BPCERAtAPCER1 float64 `json:"bpcer_at_apcer_1"`
}

// LevelFigures are the rates at one level's threshold.
type LevelFigures struct {
	Level       string             `json:"level"`
	TargetAPCER float64            `json:"target_apcer"`
	Threshold   float64            `json:"threshold"`
	APCER       float64            `json:"apcer"`
	APCERMax    float64            `json:"apcer_max"`
	BPCER       float64            `json:"bpcer"`
	ByGroup     map[string]GroupAt `json:"groups"`
}

// GroupAt is one group's rates at a threshold.
type GroupAt struct {
	APCER float64 `json:"apcer"`
	BPCER float64 `json:"bpcer"`
}

// scoredImage is one labelled image after detection and scoring.
type scoredImage struct {
	path   string
	row    map[string]string
	failed bool
	res    liveness.Result
	extra  map[string]float64 // compare variants
}

// LivenessModels are the face engine and the liveness models the passive
// liveness protocols run.
type LivenessModels struct {
	Engine *engine.Engine
	*liveness.Loaded
}

// OpenLiveness opens the face engine and the liveness models.
func OpenLiveness() (*LivenessModels, error) {
	env, err := config.Load()
	if err != nil {
		return nil, err
	}
	cfg := engine.FromSettings(env.Models)
	eng, err := engine.Open(cfg)
	if err != nil {
		return nil, err
	}
	l, err := liveness.Open(cfg)
	if err != nil {
		return nil, err
	}
	return &LivenessModels{Engine: eng, Loaded: l}, nil
}

// LivenessConfig is what `eval liveness` evaluates.
type LivenessConfig struct {
	// Root is the folder the rows' paths are relative to; Rows are the
	// labels (path, label bonafide|attack, attack_type, group, subject).
	Root string
	Rows []map[string]string
	// Level is the security level whose calibrated threshold is evaluated.
	Level liveness.Level
	// Calibration replaces the embedded levels file when not nil.
	Calibration *liveness.CalibrationFile
	// Compare also scores the preprocessing and fusion variants tried.
	Compare bool
	// Folds is the number of subject-disjoint folds of the cross-validated
	// rates (below 2: none).
	Folds   int
	Workers int
}

// livenessFace decodes an image at full resolution and returns it with the
// subject face's box, or ok false when no face was found.
func livenessFace(eng *engine.Engine, data []byte) (img *raster.RGB, box geometry.Box, ok bool, err error) {
	res, err := decode.Decode(data, decode.Options{})
	if err != nil {
		return nil, box, false, err
	}
	dets, err := eng.Detect(res.Image)
	if err != nil {
		return nil, box, false, err
	}
	if len(dets) == 0 {
		return res.Image, box, false, nil
	}
	return res.Image, dets[eng.Subject(dets)].Box, true, nil
}

// scoreLabelled detects and scores every labelled image. Images that
// cannot be read or decoded are errors; images without a face are marked
// failed.
func scoreLabelled(ctx context.Context, eng *engine.Engine, d *liveness.Detector, variants []variant, root string, rows []map[string]string, workers int, log io.Writer) ([]scoredImage, error) {
	var paths []string
	byPath := map[string]map[string]string{}
	for _, r := range rows {
		p := r["path"]
		if p == "" {
			return nil, errors.New("labels: a row has no path")
		}
		if r["label"] != "bonafide" && r["label"] != "attack" {
			return nil, fmt.Errorf("labels: %s: label %q is neither bonafide nor attack", p, r["label"])
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("labels: %s is listed twice", p)
		}
		byPath[p] = r
		paths = append(paths, p)
	}
	out := dataset.Map(ctx, paths, workers, func(p string) (scoredImage, error) {
		s := scoredImage{path: p, row: byPath[p]}
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return s, err
		}
		img, box, ok, err := livenessFace(eng, b)
		if err != nil {
			return s, fmt.Errorf("%s: %w", p, err)
		}
		if !ok {
			s.failed = true
			return s, nil
		}
		if s.res, err = d.Score(img, box); err != nil {
			return s, fmt.Errorf("%s: %w", p, err)
		}
		if len(variants) > 0 {
			s.extra = map[string]float64{}
			for _, v := range variants {
				if s.extra[v.name], err = v.score(img, box); err != nil {
					return s, fmt.Errorf("%s: %s: %w", p, v.name, err)
				}
			}
		}
		return s, nil
	}, Progress(log, "liveness"))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var res []scoredImage
	for _, p := range paths {
		r := out[p]
		if r.Err != nil {
			return nil, r.Err
		}
		res = append(res, r.Value)
	}
	return res, nil
}

func sampleOf(s scoredImage, score float64) liveness.Sample {
	typ := s.row["attack_type"]
	if typ == "" {
		typ = "none"
	}
	return liveness.Sample{Score: score, Attack: s.row["label"] == "attack", Type: typ, Group: s.row["group"], Failed: s.failed}
}

func groupsOf(samples []liveness.Sample) (names []string, by map[string][]liveness.Sample) {
	by = map[string][]liveness.Sample{}
	for _, s := range samples {
		by[s.Group] = append(by[s.Group], s)
	}
	for g := range by {
		names = append(names, g)
	}
	sort.Strings(names)
	return names, by
}

// Liveness scores every labelled image and reports the error rates at the
// level's calibrated threshold, pooled and per group, each model's own
// figures, the rates at every level, and (with Folds) the cross-validated
// rates at the level. Progress goes to log.
func Liveness(ctx context.Context, m *LivenessModels, cfg LivenessConfig, log io.Writer) (*LivenessResult, error) {
	d := m.Detector
	if cfg.Calibration != nil {
		var err error
		if d, err = d.WithCalibration(cfg.Calibration.For(d.Fusion())); err != nil {
			return nil, err
		}
	}
	cal, err := d.Calibration()
	if err != nil {
		return nil, err
	}
	thr, err := cal.Threshold(cfg.Level)
	if err != nil {
		return nil, err
	}
	var variants []variant
	if cfg.Compare {
		if variants, err = compareVariants(m.Loaded); err != nil {
			return nil, err
		}
	}
	scored, err := scoreLabelled(ctx, m.Engine, d, variants, cfg.Root, cfg.Rows, cfg.Workers, log)
	if err != nil {
		return nil, err
	}
	res := &LivenessResult{Fusion: d.Fusion(), Level: cfg.Level.String(), Images: len(scored), Groups: map[string]liveness.Report{}, Models: map[string]ModelFigures{}}
	var samples []liveness.Sample
	for _, s := range scored {
		samples = append(samples, sampleOf(s, s.res.Score))
		if s.failed {
			res.FailedImages = append(res.FailedImages, s.path)
		}
	}
	res.Report = liveness.Evaluate(samples, thr)
	names, by := groupsOf(samples)
	for _, g := range names {
		res.Groups[g] = liveness.Evaluate(by[g], thr)
	}
	for _, m := range d.Models() {
		var ms []liveness.Sample
		for _, s := range scored {
			ms = append(ms, sampleOf(s, s.res.Models[m]))
		}
		res.Models[m] = ModelFigures{AUC: liveness.AUC(ms), BPCERAtAPCER5: liveness.BPCERAtAPCER(ms, 0.05), BPCERAtAPCER1: liveness.BPCERAtAPCER(ms, 0.01)}
	}
	for _, lt := range cal.Levels {
		r := liveness.At(samples, lt.Threshold)
		lf := LevelFigures{Level: lt.Level.String(), TargetAPCER: lt.TargetAPCER, Threshold: lt.Threshold, APCER: r.APCER, APCERMax: r.APCERMax, BPCER: r.BPCER, ByGroup: map[string]GroupAt{}}
		for _, g := range names {
			gr := liveness.At(by[g], lt.Threshold)
			lf.ByGroup[g] = GroupAt{APCER: gr.APCER, BPCER: gr.BPCER}
		}
		res.Levels = append(res.Levels, lf)
	}
	if cfg.Folds >= 2 {
		res.CrossValidated = crossValidate(scored, samples, cfg.Level, cfg.Folds)
	}
	if cfg.Compare {
		res.Compare = compareRows(variants, scored)
	}
	return res, nil
}
