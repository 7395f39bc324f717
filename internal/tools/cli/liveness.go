package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/liveness"
	"github.com/facelambda/facelambda/internal/tools/dataset"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

func evalLiveness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval liveness", stdout, stderr)
	root := fs.String("root", "", "folder the labels' paths are relative to (e.g. ../shared/data/pad)")
	labels := fs.String("labels", "", "labels.tsv: path, label (bonafide|attack), attack_type, group")
	levelName := fs.String("level", liveness.DefaultLevel.String(), "security level whose calibrated threshold is evaluated")
	calPath := fs.String("calibration", "", "levels file to use instead of the embedded one")
	compare := fs.Bool("compare", false, "also compare the preprocessing and fusion variants tried (slow)")
	folds := fs.Int("folds", 3, "subject-disjoint folds for the cross-validated rates at the level (0: none; needs a subject column)")
	workers := fs.Int("workers", 0, "parallel workers (default: one per CPU)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.ParseRequired(args, "root", "labels"); err != nil {
		return err
	}
	level, err := liveness.ParseLevel(*levelName)
	if err != nil {
		return err
	}
	rows, m, err := openLivenessRows(*labels, stderr, "running %s")
	if err != nil {
		return err
	}
	cfg := evaluation.LivenessConfig{Root: *root, Rows: rows, Level: level, Compare: *compare, Folds: *folds, Workers: *workers}
	if *calPath != "" {
		b, err := os.ReadFile(*calPath)
		if err != nil {
			return err
		}
		if cfg.Calibration, err = liveness.ParseCalibrations(b); err != nil {
			return err
		}
	}
	res, err := evaluation.Liveness(ctx, m, cfg, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	printLiveness(stdout, res)
	return nil
}

// openLivenessRows reads the labels file and opens the liveness models,
// telling stderr which optional models are absent and, by absent (a format
// of the fusion run), what is done without them.
func openLivenessRows(labels string, stderr io.Writer, absent string) ([]map[string]string, *evaluation.LivenessModels, error) {
	rows, err := dataset.ReadTSV(labels)
	if err != nil {
		return nil, nil, err
	}
	m, err := evaluation.OpenLiveness()
	if err != nil {
		return nil, nil, err
	}
	if len(m.Missing) > 0 {
		fmt.Fprintf(stderr, "liveness: optional models absent (%s): "+absent+"\n", strings.Join(m.Missing, ", "), m.Detector.Fusion())
	}
	return rows, m, nil
}

func printLiveness(w io.Writer, res *evaluation.LivenessResult) {
	groups := make([]string, 0, len(res.Groups))
	for g := range res.Groups {
		groups = append(groups, g)
	}
	sort.Strings(groups)
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
	fs := newFlags("calibrate liveness", stdout, stderr)
	root := fs.String("root", "", "folder the labels' paths are relative to (e.g. ../shared/data/pad; without --data)")
	labels := fs.String("labels", "", "labels.tsv: path, label (bonafide|attack), attack_type, group (without --data)")
	out := fs.String("out", "", "levels file to write (default: the committed "+liveness.LevelsFile+")")
	src := addPassiveSourceFlags(fs)
	asJSON := fs.Bool("json", false, "print the calibration as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var file *liveness.CalibrationFile
	if *src.data != "" {
		pc, err := calibrateFromSources(ctx, src, stdout, stderr)
		if err != nil {
			return err
		}
		file = pc.File
	} else {
		if err := required(fs, "root", "labels"); err != nil {
			return err
		}
		rows, m, err := openLivenessRows(*labels, stderr, "calibrating %s only")
		if err != nil {
			return err
		}
		if file, err = evaluation.CalibrateLiveness(ctx, m, *root, *labels, rows, *src.workers, stderr); err != nil {
			return err
		}
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

func printCompare(w io.Writer, rows []evaluation.CompareRow) {
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

// calibrateFromSources calibrates the levels on every passive source
// (`calibrate liveness --data`) and prints the fitted fusion weights
// beside the manifest's.
func calibrateFromSources(ctx context.Context, src passiveSourceFlags, stdout, stderr io.Writer) (*evaluation.PassiveCalibration, error) {
	samples, err := src.samples(ctx, stderr)
	if err != nil {
		return nil, err
	}
	m, err := evaluation.OpenLiveness()
	if err != nil {
		return nil, err
	}
	cmd := fmt.Sprintf("facelambda calibrate liveness --data %s --every %d", filepath.ToSlash(*src.data), *src.every)
	pc, err := evaluation.CalibratePassive(m.Detector, samples, cmd)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "fusion %s fitted on every source; weights for the manifest (cues divided by the models' total) and the manifest's now:\n", evaluation.ShippedFusion)
	names := make([]string, 0, len(pc.ManifestWeights))
	for n := range pc.ManifestWeights {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "  %-16s fitted %9.4f  manifest %9.4f\n", n, pc.ManifestWeights[n], pc.Manifest[n])
	}
	return pc, nil
}
