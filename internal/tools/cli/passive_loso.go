package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/liveness"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

// passiveSourceFlags are the flags that say where the passive liveness
// sources and the feature cache are.
type passiveSourceFlags struct {
	data, frames, moves, cache *string
	every, workers             *int
}

func addPassiveSourceFlags(fs *flagSet) passiveSourceFlags {
	return passiveSourceFlags{
		data:    fs.String("data", "", "shared data folder holding pad/, pad-replay/ and active/ (e.g. ../shared/data)"),
		frames:  fs.String("frames", "", "where the replayed face is in the attack clips (default: the repository's "+evaluation.PresentedFacesFile+")"),
		moves:   fs.String("moves", "", "move annotations of the clips; bona fide frames in turns are left out (default: the repository's "+defaultAnnotations+"; \"none\" keeps them)"),
		cache:   fs.String("cache", "", "feature cache file (default: the repository's .tools/cache/passive-features.json; \"none\" for no cache)"),
		every:   fs.Int("every", 3, "use every n-th frame of the clips"),
		workers: fs.Int("workers", 0, "parallel workers (default: one per CPU)"),
	}
}

// samples lists the sources and reads (or computes) their features.
func (p passiveSourceFlags) samples(ctx context.Context, stderr io.Writer) ([]evaluation.PassiveSample, error) {
	frames, moves, cache := *p.frames, *p.moves, *p.cache
	if frames == "" || cache == "" || moves == "" {
		repo, err := engine.RepoRoot()
		if err != nil {
			return nil, fmt.Errorf("%w; give --frames and --cache", err)
		}
		if frames == "" {
			frames = filepath.Join(repo, filepath.FromSlash(evaluation.PresentedFacesFile))
		}
		if cache == "" {
			cache = filepath.Join(repo, ".tools", "cache", "passive-features.json")
		}
		if moves == "" {
			moves = filepath.Join(repo, filepath.FromSlash(defaultAnnotations))
		}
	}
	if cache == "none" {
		cache = ""
	}
	if moves == "none" {
		moves = ""
	}
	items, err := evaluation.PassiveSources(evaluation.PassiveSourcesConfig{Data: *p.data, Frames: frames, Moves: moves, Every: *p.every})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("no passive liveness source under %s", *p.data)
	}
	m, err := evaluation.OpenLiveness()
	if err != nil {
		return nil, err
	}
	return evaluation.PassiveFeatures(ctx, m, *p.data, items, cache, *p.workers, stderr)
}

func evalPassiveLOSO(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval passive-loso", stdout, stderr)
	src := addPassiveSourceFlags(fs)
	levelName := fs.String("level", liveness.DefaultLevel.String(), "security level reported")
	rules := fs.String("rules", evaluation.RuleBalanced+","+evaluation.RulePooled, "calibration rules compared (balanced, pooled)")
	only := fs.String("fusions", "", "comma-separated fusion names to run (default: all)")
	detail := fs.String("detail", "", "fusion whose held-out figures are printed per source and per level (default: the shipped one)")
	lambda := fs.Float64("lambda", 0.01, "L2 penalty of the fitted fusions (standardised weights)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.ParseRequired(args, "data"); err != nil {
		return err
	}
	level, err := liveness.ParseLevel(*levelName)
	if err != nil {
		return err
	}
	samples, err := src.samples(ctx, stderr)
	if err != nil {
		return err
	}
	fusions := evaluation.PassiveFusions()
	if *only != "" {
		want := strings.Split(*only, ",")
		var keep []evaluation.PassiveFusion
		for _, f := range fusions {
			for _, w := range want {
				if strings.TrimSpace(w) == f.Name {
					keep = append(keep, f)
				}
			}
		}
		if len(keep) == 0 {
			return usageError{fmt.Errorf("no fusion named %q", *only)}
		}
		fusions = keep
	}
	det := *detail
	if det == "" {
		det = evaluation.ShippedFusion
	}
	res, err := evaluation.PassiveLOSO(samples, evaluation.LOSOConfig{Level: level, Rules: strings.Split(*rules, ","), Fusions: fusions, Lambda: *lambda, Detailed: det})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	printLOSO(stdout, res, det)
	return nil
}

func fmtRate(r evaluation.Rate) string {
	if r.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%% (%d/%d, %.1f-%.1f)", 100*r.Rate, r.K, r.N, 100*r.Lo, 100*r.Hi)
}

func printLOSO(w io.Writer, res *evaluation.LOSOResult, detail string) {
	fmt.Fprintf(w, "level %s; sources:\n", res.Level)
	for _, s := range res.Sources {
		var t []string
		for k, n := range s.Attacks {
			t = append(t, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(t)
		fmt.Fprintf(w, "  %-16s bona fide %4d (no face %d)  attacks: %s\n", s.Source, s.BonaFide, s.Failed, strings.Join(t, ", "))
	}
	fmt.Fprintf(w, "\nheld-out pooled (in-sample pooled) at %s; worst held-out source:\n", res.Level)
	fmt.Fprintf(w, "%-28s %-8s %-22s %-22s %-22s %-30s\n", "fusion", "rule", "BPCER", "APCER print", "APCER replay", "worst source BPCER / APCER")
	for _, f := range res.Fusions {
		var worstB, worstA float64
		var wb, wa string
		for _, h := range f.HeldOut {
			if h.BPCER.Rate > worstB || wb == "" {
				worstB, wb = h.BPCER.Rate, h.Source
			}
			for _, a := range h.APCER {
				if a.Rate > worstA || wa == "" {
					worstA, wa = a.Rate, h.Source
				}
			}
		}
		short := func(r evaluation.Rate) string { return fmt.Sprintf("%.1f%%", 100*r.Rate) }
		fmt.Fprintf(w, "%-28s %-8s %-22s %-22s %-22s %s %.1f%% / %s %.1f%%\n", f.Name, f.Rule,
			short(f.Pooled.BPCER)+" ("+short(f.InPooled.BPCER)+")",
			short(f.Pooled.APCER["print"])+" ("+short(f.InPooled.APCER["print"])+")",
			short(f.Pooled.APCER["replay"])+" ("+short(f.InPooled.APCER["replay"])+")",
			wb, 100*worstB, wa, 100*worstA)
	}
	for _, f := range res.Fusions {
		if f.Name != detail {
			continue
		}
		fmt.Fprintf(w, "\n%s, rule %s (in-sample threshold %.3f); weights %v bias %.3f\n", f.Name, f.Rule, f.InPooled.Threshold, f.Model.W, f.Model.Bias)
		fmt.Fprintf(w, "%-16s %8s %7s  %-28s %-28s %-28s %s\n", "held-out source", "thr", "AUC", "BPCER", "APCER print", "APCER replay", "in-sample BPCER / print / replay")
		for i, h := range append(f.HeldOut, f.Pooled) {
			in := f.InPooled
			if i < len(f.InSample) {
				in = f.InSample[i]
			}
			thr, auc := fmt.Sprintf("%8.3f", h.Threshold), fmt.Sprintf("%7.4f", h.AUC)
			if i == len(f.HeldOut) {
				thr = fmt.Sprintf("%8s", "-")
			}
			if len(h.APCER) == 0 || i == len(f.HeldOut) {
				auc = fmt.Sprintf("%7s", "-") // no attacks, or pooled over thresholds
			}
			fmt.Fprintf(w, "%-16s %s %s  %-28s %-28s %-28s %s / %s / %s\n", h.Source, thr, auc, fmtRate(h.BPCER), fmtRate(h.APCER["print"]), fmtRate(h.APCER["replay"]),
				fmtRate(in.BPCER), fmtRate(in.APCER["print"]), fmtRate(in.APCER["replay"]))
		}
		for _, l := range f.Levels {
			fmt.Fprintf(w, "  held-out pooled at %-19s BPCER %-26s APCER print %-26s replay %s\n", l.Level, fmtRate(l.At.BPCER), fmtRate(l.At.APCER["print"]), fmtRate(l.At.APCER["replay"]))
		}
	}
}
