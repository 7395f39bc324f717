package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/facelambda/facelambda/internal/dataset"
	"github.com/facelambda/facelambda/internal/decode"
	"github.com/facelambda/facelambda/internal/engine"
	"github.com/facelambda/facelambda/internal/geometry"
	"github.com/facelambda/facelambda/internal/liveness"
	"github.com/facelambda/facelambda/internal/raster"
)

func init() {
	register("eval liveness", "eval liveness --root DIR --labels FILE [--level L]  passive liveness (PAD) metrics, pooled and per group", evalLiveness)
	register("calibrate liveness", "calibrate liveness --root DIR --labels FILE        liveness level thresholds from labelled data", calibrateLiveness)
}

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

// livenessSetup opens the face engine and the liveness models.
func livenessSetup() (*engine.Engine, *liveness.Loaded, error) {
	cfg := engine.ConfigFromEnv()
	eng, err := engine.Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	l, err := liveness.Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	return eng, l, nil
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
func scoreLabelled(ctx context.Context, eng *engine.Engine, d *liveness.Detector, variants []variant, root string, rows []map[string]string, workers int, stderr io.Writer) ([]scoredImage, error) {
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
	}, progress(stderr, "liveness"))
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

func evalLiveness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval liveness", stderr)
	root := fs.String("root", "", "folder the labels' paths are relative to (e.g. ../shared/data/pad)")
	labels := fs.String("labels", "", "labels.tsv: path, label (bonafide|attack), attack_type, group")
	levelName := fs.String("level", liveness.DefaultLevel.String(), "security level whose calibrated threshold is evaluated")
	calPath := fs.String("calibration", "", "levels file to use instead of the embedded one")
	compare := fs.Bool("compare", false, "also compare the preprocessing and fusion variants tried (slow)")
	folds := fs.Int("folds", 3, "subject-disjoint folds for the cross-validated rates at the level (0: none; needs a subject column)")
	workers := fs.Int("workers", 0, "parallel workers (default: one per CPU)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "root", "labels"); err != nil {
		return err
	}
	level, err := liveness.ParseLevel(*levelName)
	if err != nil {
		return err
	}
	rows, err := dataset.ReadTSV(*labels)
	if err != nil {
		return err
	}
	eng, l, err := livenessSetup()
	if err != nil {
		return err
	}
	d := l.Detector
	if len(l.Missing) > 0 {
		fmt.Fprintf(stderr, "liveness: optional models absent (%s): running %s\n", strings.Join(l.Missing, ", "), d.Fusion())
	}
	if *calPath != "" {
		b, err := os.ReadFile(*calPath)
		if err != nil {
			return err
		}
		f, err := liveness.ParseCalibrations(b)
		if err != nil {
			return err
		}
		if d, err = d.WithCalibration(f.For(d.Fusion())); err != nil {
			return err
		}
	}
	cal, err := d.Calibration()
	if err != nil {
		return err
	}
	thr, err := cal.Threshold(level)
	if err != nil {
		return err
	}
	var variants []variant
	if *compare {
		if variants, err = compareVariants(l); err != nil {
			return err
		}
	}
	scored, err := scoreLabelled(ctx, eng, d, variants, *root, rows, *workers, stderr)
	if err != nil {
		return err
	}
	res := LivenessResult{Fusion: d.Fusion(), Level: level.String(), Images: len(scored), Groups: map[string]liveness.Report{}, Models: map[string]ModelFigures{}}
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
	if *folds >= 2 {
		res.CrossValidated = crossValidate(scored, samples, level, *folds)
	}
	if *compare {
		res.Compare = compareRows(variants, scored)
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	printLiveness(stdout, res, names)
	return nil
}

func printLiveness(w io.Writer, res LivenessResult, groups []string) {
	fmt.Fprintf(w, "fusion %s, level %s (threshold %.3f)\n", res.Fusion, res.Level, res.Threshold)
	line := func(name string, r liveness.Report) {
		fmt.Fprintf(w, "%-10s bona fide %3d (no face %d), attacks %3d (no face %d): AUC %.4f  APCER %.4f (max over types %.4f)  BPCER %.4f  ACER %.4f  BPCER@APCER1%% %.4f  BPCER@APCER5%% %.4f\n",
			name, r.BonaFide, r.FailedBonaFide, r.Attacks, r.FailedAttacks, r.AUC, r.APCER, r.APCERMax, r.BPCER, r.ACER, r.BPCERAtAPCER1, r.BPCERAtAPCER5)
		var types []string
		for t := range r.APCERByType {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, t := range types {
			fmt.Fprintf(w, "%-10s   APCER %-14s %.4f\n", "", t, r.APCERByType[t])
		}
	}
	line("pooled", res.Report)
	for _, g := range groups {
		line(g, res.Groups[g])
	}
	var models []string
	for m := range res.Models {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		f := res.Models[m]
		fmt.Fprintf(w, "model %-16s AUC %.4f  BPCER@APCER1%% %.4f  BPCER@APCER5%% %.4f\n", m, f.AUC, f.BPCERAtAPCER1, f.BPCERAtAPCER5)
	}
	fmt.Fprintf(w, "%-19s %7s %9s %7s %7s %7s", "level", "target", "threshold", "APCER", "max", "BPCER")
	for _, g := range groups {
		fmt.Fprintf(w, "  %s APCER/BPCER", g)
	}
	fmt.Fprintln(w)
	for _, l := range res.Levels {
		fmt.Fprintf(w, "%-19s %7.3f %9.3f %7.4f %7.4f %7.4f", l.Level, l.TargetAPCER, l.Threshold, l.APCER, l.APCERMax, l.BPCER)
		for _, g := range groups {
			fmt.Fprintf(w, "  %.4f/%.4f", l.ByGroup[g].APCER, l.ByGroup[g].BPCER)
		}
		fmt.Fprintln(w)
	}
	if cv := res.CrossValidated; cv != nil {
		fmt.Fprintf(w, "cross-validated at %s (%d subject-disjoint folds, thresholds %s): APCER %.4f (max over types %.4f)  BPCER %.4f  ACER %.4f",
			res.Level, cv.Folds, fmtFloats(cv.Thresholds), cv.APCER, cv.APCERMax, cv.BPCER, cv.ACER)
		for _, g := range groups {
			fmt.Fprintf(w, "  %s %.4f/%.4f", g, cv.Groups[g].APCER, cv.Groups[g].BPCER)
		}
		fmt.Fprintln(w)
	}
	for _, p := range res.FailedImages {
		fmt.Fprintln(w, "no face:", p)
	}
	if len(res.Compare) > 0 {
		printCompare(w, res.Compare)
	}
}

func calibrateLiveness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calibrate liveness", stderr)
	root := fs.String("root", "", "folder the labels' paths are relative to (e.g. ../shared/data/pad)")
	labels := fs.String("labels", "", "labels.tsv: path, label (bonafide|attack), attack_type, group")
	out := fs.String("out", "", "levels file to write (default: the committed "+liveness.LevelsFile+")")
	workers := fs.Int("workers", 0, "parallel workers (default: one per CPU)")
	asJSON := fs.Bool("json", false, "print the calibration as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "root", "labels"); err != nil {
		return err
	}
	rows, err := dataset.ReadTSV(*labels)
	if err != nil {
		return err
	}
	eng, l, err := livenessSetup()
	if err != nil {
		return err
	}
	d := l.Detector
	if len(l.Missing) > 0 {
		fmt.Fprintf(stderr, "liveness: optional models absent (%s): calibrating %s only\n", strings.Join(l.Missing, ", "), d.Fusion())
	}
	scored, err := scoreLabelled(ctx, eng, d, nil, *root, rows, *workers, stderr)
	if err != nil {
		return err
	}
	// The detector's fusion, and the fusion that runs when the optional
	// models are absent (when they carry weight, it differs).
	fusions := []*liveness.Detector{d}
	if len(l.Optional) > 0 {
		if fb, err := d.Without(l.Optional...); err == nil && fb.Fusion() != d.Fusion() {
			fusions = append(fusions, fb)
		}
	}
	groups := map[string]int{}
	for _, s := range scored {
		groups[s.row["group"]]++
	}
	var gs []string
	for g, n := range groups {
		gs = append(gs, fmt.Sprintf("%s %d", g, n))
	}
	sort.Strings(gs)
	data := fmt.Sprintf("%s (%s): %d images, full frames, pooled over groups %s", filepath.Base(filepath.Clean(*root)), filepath.Base(*labels), len(scored), strings.Join(gs, ", "))
	file := &liveness.CalibrationFile{Version: 1,
		Command: "facelambda calibrate liveness --root " + filepath.ToSlash(*root) + " --labels " + filepath.ToSlash(*labels)}
	for _, f := range fusions {
		var samples []liveness.Sample
		for _, s := range scored {
			samples = append(samples, sampleOf(s, f.Fuse(s.res.Models)))
		}
		c, err := liveness.Calibrate(samples, f.Fusion(), data)
		if err != nil {
			return err
		}
		file.Calibrations = append(file.Calibrations, c)
	}
	path := *out
	if path == "" {
		repo, err := engine.RepoRoot()
		if err != nil {
			return fmt.Errorf("calibrate liveness: %w; give --out", err)
		}
		path = liveness.DefaultLevelsPath(repo)
	}
	if err := file.Save(path); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, file)
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	for _, c := range file.Calibrations {
		fmt.Fprintf(stdout, "fusion %s: %d bona fide, %d attacks, %d without a face\n", c.Fusion, c.BonaFide, c.Attacks, c.Failed)
		fmt.Fprintf(stdout, "%-19s %7s %9s %7s %7s %7s\n", "level", "target", "threshold", "APCER", "max", "BPCER")
		for _, lt := range c.Levels {
			fmt.Fprintf(stdout, "%-19s %7.3f %9.3f %7.4f %7.4f %7.4f\n", lt.Level, lt.TargetAPCER, lt.Threshold, lt.APCER, lt.APCERMax, lt.BPCER)
		}
	}
	return nil
}

// variant is one preprocessing or fusion tried by --compare.
type variant struct {
	name  string
	note  string
	score func(img *raster.RGB, box geometry.Box) (float64, error)
}

// compareVariants builds the variants compared by `eval liveness
// --compare`: how fr_liveness is read (crop geometry, channel order,
// resampling, flips), the MiniFASNet pair, and fusions of the two.
func compareVariants(l *liveness.Loaded) ([]variant, error) {
	fr := l.Models["liveness"]
	if fr == nil {
		return nil, errors.New("compare: the liveness model is not loaded")
	}
	type part struct {
		spec liveness.Spec
		m    liveness.Model
	}
	mk := func(name, note string, parts ...part) (variant, error) {
		var scorers []*liveness.Scorer
		for _, p := range parts {
			s, err := liveness.NewScorer(p.spec, p.m)
			if err != nil {
				return variant{}, err
			}
			scorers = append(scorers, s)
		}
		d, err := liveness.New(scorers...)
		if err != nil {
			return variant{}, err
		}
		return variant{name: name, note: note, score: func(img *raster.RGB, box geometry.Box) (float64, error) {
			r, err := d.Score(img, box)
			return r.Score, err
		}}, nil
	}
	box := liveness.Crop{Scale: 2.7, Mode: liveness.CropShift}
	sq := liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropShift}
	frSpec := func(name string, flip, smooth bool, ch string, w float64, crops ...liveness.Crop) part {
		return part{liveness.Spec{Name: name, Size: 128, Crops: crops, Channels: ch, Live: 0, Weight: w, Flip: flip, Smooth: smooth}, fr}
	}
	defs := []struct {
		name, note string
		parts      []part
	}{
		{"fr-notes", "fr_liveness, square box clamped to the image (model notes)", []part{frSpec("a", false, false, "BGR", 1, liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropClamp})}},
		{"fr-notes-pad", "fr_liveness, square box, black outside the image", []part{frSpec("a", false, false, "BGR", 1, liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropPad})}},
		{"fr-box-rgb", "fr_liveness, box shifted inside (package JS crop), RGB as the JS reads it", []part{frSpec("a", false, false, "RGB", 1, box)}},
		{"fr-box", "fr_liveness, box shifted inside (package JS crop), BGR", []part{frSpec("a", false, false, "BGR", 1, box)}},
		{"fr-box-smooth", "fr-box with area-averaged resampling", []part{frSpec("a", false, true, "BGR", 1, box)}},
		{"fr-box-2.2", "fr-box at scale 2.2", []part{frSpec("a", false, false, "BGR", 1, liveness.Crop{Scale: 2.2, Mode: liveness.CropShift})}},
		{"fr-square", "fr_liveness, square box shifted inside", []part{frSpec("a", false, false, "BGR", 1, sq)}},
		{"fr-box+flip", "fr-box and its mirror image", []part{frSpec("a", true, false, "BGR", 1, box)}},
		{"fr-square+flip", "fr-square and its mirror image", []part{frSpec("a", true, false, "BGR", 1, sq)}},
		{"fr-box+square", "mean of fr-box and fr-square", []part{frSpec("a", false, false, "BGR", 1, box, sq)}},
		{"fr-box+square+flip", "mean of fr-box, fr-square and their mirror images (shipped)", []part{frSpec("a", true, false, "BGR", 1, box, sq)}},
	}
	v2, v1 := l.Models["minifasnet-v2"], l.Models["minifasnet-v1se"]
	if v2 != nil && v1 != nil {
		mf := func(name string, m liveness.Model, scale, w float64, square, flip bool) part {
			return part{liveness.Spec{Name: name, Size: 80, Crops: []liveness.Crop{{Scale: scale, Square: square, Mode: liveness.CropShift}}, Channels: "BGR", Live: 1, Weight: w, Flip: flip}, m}
		}
		notes := frSpec("fr", false, false, "BGR", 1, liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropClamp})
		best := frSpec("fr", true, false, "BGR", 1, box, sq)
		defs = append(defs, []struct {
			name, note string
			parts      []part
		}{
			{"mfn-v2", "MiniFASNetV2 (scale 2.7, official crop)", []part{mf("v2", v2, 2.7, 1, false, false)}},
			{"mfn-v1se", "MiniFASNetV1SE (scale 4.0, official crop)", []part{mf("v1", v1, 4.0, 1, false, false)}},
			{"mfn-pair", "mean log-odds of the MiniFASNet pair", []part{mf("v2", v2, 2.7, 1, false, false), mf("v1", v1, 4.0, 1, false, false)}},
			{"mfn-pair-square", "the pair on square boxes", []part{mf("v2", v2, 2.7, 1, true, false), mf("v1", v1, 4.0, 1, true, false)}},
			{"mfn-pair+flip", "the pair and mirror images", []part{mf("v2", v2, 2.7, 1, false, true), mf("v1", v1, 4.0, 1, false, true)}},
			{"fr-notes|pair 1:1", "logit mean of fr-notes and the pair (model notes' fusion)", []part{notes, mf("v2", v2, 2.7, 0.5, false, false), mf("v1", v1, 4.0, 0.5, false, false)}},
			{"shipped|pair 1:1", "logit mean of the shipped fr_liveness reading and the pair", []part{best, mf("v2", v2, 2.7, 0.5, false, false), mf("v1", v1, 4.0, 0.5, false, false)}},
			{"shipped|pair 2:1", "the same, pair at half weight", []part{best, mf("v2", v2, 2.7, 0.25, false, false), mf("v1", v1, 4.0, 0.25, false, false)}},
			{"shipped|pair-square 2:1", "the same, pair on square boxes", []part{best, mf("v2", v2, 2.7, 0.25, true, false), mf("v1", v1, 4.0, 0.25, true, false)}},
		}...)
	}
	var out []variant
	for _, d := range defs {
		v, err := mk(d.name, d.note, d.parts...)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// CompareRow is one variant's pooled and per-group figures.
type CompareRow struct {
	Name          string             `json:"name"`
	Note          string             `json:"note"`
	AUC           float64            `json:"auc"`
	BestACER      float64            `json:"best_acer"` // in-sample, lowest (APCER+BPCER)/2 over thresholds
	BPCERAtAPCER5 float64            `json:"bpcer_at_apcer_5"`
	BPCERAtAPCER1 float64            `json:"bpcer_at_apcer_1"`
	GroupAUC      map[string]float64 `json:"group_auc"`
	// Transfer gives each group's rates at the threshold set at APCER 5%
	// on the other groups (how a threshold moves between cameras).
	Transfer map[string]GroupAt `json:"transfer"`
}

func compareRows(variants []variant, scored []scoredImage) []CompareRow {
	var rows []CompareRow
	for _, v := range variants {
		var samples []liveness.Sample
		for _, s := range scored {
			samples = append(samples, sampleOf(s, s.extra[v.name]))
		}
		acer, _ := liveness.BestACER(samples)
		r := CompareRow{Name: v.name, Note: v.note, AUC: liveness.AUC(samples), BestACER: acer,
			BPCERAtAPCER5: liveness.BPCERAtAPCER(samples, 0.05), BPCERAtAPCER1: liveness.BPCERAtAPCER(samples, 0.01),
			GroupAUC: map[string]float64{}, Transfer: map[string]GroupAt{}}
		names, by := groupsOf(samples)
		for _, g := range names {
			r.GroupAUC[g] = liveness.AUC(by[g])
			var others []liveness.Sample
			for _, s := range samples {
				if s.Group != g {
					others = append(others, s)
				}
			}
			if thr, ok := liveness.ThresholdAtAPCER(others, 0.05); ok {
				at := liveness.At(by[g], thr)
				r.Transfer[g] = GroupAt{APCER: at.APCER, BPCER: at.BPCER}
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func printCompare(w io.Writer, rows []CompareRow) {
	var groups []string
	for g := range rows[0].GroupAUC {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	fmt.Fprintf(w, "\n%-24s %7s %9s %9s %9s", "variant", "AUC", "best ACER", "B@A5%", "B@A1%")
	for _, g := range groups {
		fmt.Fprintf(w, " %9s", g+" AUC")
	}
	for _, g := range groups {
		fmt.Fprintf(w, " %15s", "->"+g+" A/B")
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "%-24s %7.4f %9.4f %9.4f %9.4f", r.Name, r.AUC, r.BestACER, r.BPCERAtAPCER5, r.BPCERAtAPCER1)
		for _, g := range groups {
			fmt.Fprintf(w, " %9.4f", r.GroupAUC[g])
		}
		for _, g := range groups {
			fmt.Fprintf(w, "   %.3f/%.3f", r.Transfer[g].APCER, r.Transfer[g].BPCER)
		}
		fmt.Fprintf(w, "  %s\n", r.Note)
	}
}

func fmtFloats(v []float64) string {
	var p []string
	for _, x := range v {
		p = append(p, fmt.Sprintf("%.3f", x))
	}
	return strings.Join(p, ", ")
}

// crossValidate splits the subjects of each group round-robin (in sorted
// order) into k folds, calibrates the level on all folds but one and
// decides the held-out fold at that threshold. It returns nil when the
// labels have no subject column.
func crossValidate(scored []scoredImage, samples []liveness.Sample, level liveness.Level, k int) *CrossValidated {
	subjects := map[string][]string{}
	seen := map[string]bool{}
	for _, s := range scored {
		g, sub := s.row["group"], s.row["subject"]
		if sub == "" {
			return nil
		}
		if !seen[g+"\x00"+sub] {
			seen[g+"\x00"+sub] = true
			subjects[g] = append(subjects[g], sub)
		}
	}
	fold := map[string]int{}
	for g, subs := range subjects {
		sort.Strings(subs)
		for i, sub := range subs {
			fold[g+"\x00"+sub] = i % k
		}
	}
	of := func(s scoredImage) int { return fold[s.row["group"]+"\x00"+s.row["subject"]] }
	cv := &CrossValidated{Folds: k, Groups: map[string]GroupAt{}}
	var decided []liveness.Sample // held-out samples, Score replaced by accept (1) or reject (0)
	for f := 0; f < k; f++ {
		var train []liveness.Sample
		for i, s := range scored {
			if of(s) != f {
				train = append(train, samples[i])
			}
		}
		c, err := liveness.Calibrate(train, "cv", "fold")
		if err != nil {
			return nil
		}
		thr, _ := c.Threshold(level)
		cv.Thresholds = append(cv.Thresholds, thr)
		for i, s := range scored {
			if of(s) == f {
				d := samples[i]
				d.Failed = d.Failed || !(d.Score >= thr)
				d.Score = 1
				decided = append(decided, d)
			}
		}
	}
	r := liveness.At(decided, 0.5)
	cv.APCER, cv.APCERMax, cv.BPCER, cv.ACER = r.APCER, r.APCERMax, r.BPCER, r.ACER
	names, by := groupsOf(decided)
	for _, g := range names {
		gr := liveness.At(by[g], 0.5)
		cv.Groups[g] = GroupAt{APCER: gr.APCER, BPCER: gr.BPCER}
	}
	return cv
}
