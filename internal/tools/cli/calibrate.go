package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

// calibrate embeds every image under --root (identity = the image's folder),
// scores all cross-identity pairs and writes the cosine -> FAR table.
func calibrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calibrate", stdout, stderr)
	root := fs.String("root", "", "image folder, one sub-folder per identity (e.g. ../shared/data/lfw/lfw-deepfunneled)")
	out := fs.String("out", "", "table to write (default: the committed table of the encoder)")
	workers := fs.Int("workers", 0, "parallel workers (default: one per CPU)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	top := fs.Int("top", 0, "also list the N highest-scoring cross-identity pairs (label-noise check)")
	if err := fs.ParseRequired(args, "root"); err != nil {
		return err
	}
	svc, err := app.BootstrapService()
	if err != nil {
		return err
	}
	imp, err := evaluation.ImpostorScores(ctx, svc, *root, *workers, *top, stderr)
	if err != nil {
		return err
	}
	items, failed, impostors, worst := imp.Images, imp.Failures, imp.Scores, imp.Top
	t, err := calibration.Build(impostors, svc.Encoder(), fmt.Sprintf("%s: %d images, all cross-identity pairs", filepath.Base(filepath.Clean(*root)), items))
	if err != nil {
		return err
	}
	path := *out
	if path == "" {
		path, err = calibration.DefaultPath(svc.Encoder())
		if err != nil {
			return err
		}
	}
	if err := t.Save(path); err != nil {
		return err
	}
	sum := map[string]any{"table": path, "images": items, "failures": failed, "impostor_pairs": len(impostors),
		"cosine_at_far": map[string]float64{}}
	for _, far := range []float64{1e-2, 1e-3, 1e-4, 1e-5, 1e-6} {
		sum["cosine_at_far"].(map[string]float64)[fmt.Sprint(far)] = t.CosineAt(far)
	}
	if *top > 0 {
		sum["top_impostor_pairs"] = worst
	}
	if *asJSON {
		return printJSON(stdout, sum)
	}
	for _, w := range worst {
		fmt.Fprintf(stdout, "  impostor %.3f %s %s\n", w.Cosine, w.A, w.B)
	}
	fmt.Fprintf(stdout, "wrote %s: %d images (%d failed), %d impostor pairs\n", path, items, failed, len(impostors))
	for _, far := range []float64{1e-2, 1e-3, 1e-4, 1e-5, 1e-6} {
		fmt.Fprintf(stdout, "  FAR %-6g at cosine %.3f (score %.0f)\n", far, t.CosineAt(far), calibration.Score(far))
	}
	return nil
}
