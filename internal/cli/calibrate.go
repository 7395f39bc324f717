package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/facelambda/facelambda/internal/calibration"
	"github.com/facelambda/facelambda/internal/dataset"
	"github.com/facelambda/facelambda/internal/face"
	"github.com/facelambda/facelambda/internal/server"
)

// calibrate embeds every image under --root (identity = the image's folder),
// scores all cross-identity pairs and writes the cosine -> FAR table.
func calibrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calibrate", stderr)
	root := fs.String("root", "", "image folder, one sub-folder per identity (e.g. ../shared/data/lfw/lfw-deepfunneled)")
	out := fs.String("out", "", "table to write (default: the committed table of the encoder)")
	workers := fs.Int("workers", 0, "parallel workers (default: one per CPU)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	top := fs.Int("top", 0, "also list the N highest-scoring cross-identity pairs (label-noise check)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "root"); err != nil {
		return err
	}
	svc, err := server.BootstrapService()
	if err != nil {
		return err
	}
	paths, err := dataset.Images(*root)
	if err != nil {
		return err
	}
	embs := embedAll(ctx, svc, *root, paths, *workers, stderr)
	type item struct {
		id, path string
		vec      []float32
	}
	var items []item
	failed := 0
	for _, p := range paths {
		r := embs[p]
		if r.Err != nil {
			failed++
			continue
		}
		items = append(items, item{filepath.Dir(p), p, r.Value})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].id < items[j].id })
	var impostors []float32
	var worst []topPair
	for i := range items {
		for j := i + 1; j < len(items); j++ {
			if items[i].id != items[j].id {
				c := face.Cosine(items[i].vec, items[j].vec)
				impostors = append(impostors, float32(c))
				if *top > 0 && (len(worst) < *top || c > worst[len(worst)-1].Cosine) {
					worst = insertTop(worst, topPair{items[i].path, items[j].path, c}, *top)
				}
			}
		}
	}
	t, err := calibration.Build(impostors, svc.Encoder(), fmt.Sprintf("%s: %d images, all cross-identity pairs", filepath.Base(filepath.Clean(*root)), len(items)))
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
	sum := map[string]any{"table": path, "images": len(items), "failures": failed, "impostor_pairs": len(impostors),
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
	fmt.Fprintf(stdout, "wrote %s: %d images (%d failed), %d impostor pairs\n", path, len(items), failed, len(impostors))
	for _, far := range []float64{1e-2, 1e-3, 1e-4, 1e-5, 1e-6} {
		fmt.Fprintf(stdout, "  FAR %-6g at cosine %.3f (score %.0f)\n", far, t.CosineAt(far), calibration.Score(far))
	}
	return nil
}

type topPair struct {
	A, B   string
	Cosine float64
}

// insertTop keeps the n highest pairs, best first.
func insertTop(s []topPair, p topPair, n int) []topPair {
	i := sort.Search(len(s), func(i int) bool { return s[i].Cosine < p.Cosine })
	s = append(s, topPair{})
	copy(s[i+1:], s[i:])
	s[i] = p
	if len(s) > n {
		s = s[:n]
	}
	return s
}
