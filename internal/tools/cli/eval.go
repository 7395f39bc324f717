package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/tools/dataset"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

func evalVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval verify", stdout, stderr)
	root := fs.String("root", "", "folder the pairs file's paths are relative to")
	pairsPath := fs.String("pairs", "", "pairs file: imgA imgB same [fold]")
	workers := fs.Int("workers", 0, "parallel workers (default: one per CPU)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "root", "pairs"); err != nil {
		return err
	}
	pairs, err := dataset.ReadPairs(*pairsPath)
	if err != nil {
		return err
	}
	svc, err := app.Service()
	if err != nil {
		return err
	}
	res := evaluation.VerifyDataset(ctx, svc, *root, pairs, *workers, stderr)
	if *asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "pairs %d (scored %d: %d genuine, %d impostor), images %d, failures to detect %d\n",
		res.Pairs, res.Scored, res.Genuine, res.Impostor, res.Images, res.Failures)
	fmt.Fprintf(stdout, "accuracy %.4f at cosine %.3f\n", res.Accuracy, res.Threshold)
	if res.FoldAccuracy != nil {
		fmt.Fprintf(stdout, "fold accuracy %.4f +- %.4f\n", res.FoldAccuracy.Mean, res.FoldAccuracy.Std)
	}
	fmt.Fprintf(stdout, "AUC %.4f, EER %.4f\n", res.AUC, res.EER)
	keys := make([]string, 0, len(res.TARAtFAR))
	for k := range res.TARAtFAR {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "TAR %.4f at FAR %s\n", res.TARAtFAR[k], k)
	}
	return nil
}

func evalDetect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval detect", stdout, stderr)
	root := fs.String("root", "", "folder the labels' paths are relative to")
	labels := fs.String("labels", "", "labels.tsv: path, category, expected_faces (n, >=n, ? or 'n (partial)')")
	boxes := fs.String("boxes", "", "optional ground-truth boxes TSV (path, left, top, width, height, ignore); default boxes_dlib.tsv beside the labels")
	asJSON := fs.Bool("json", false, "print JSON")
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
	if *boxes == "" {
		*boxes = filepath.Join(filepath.Dir(*labels), "boxes_dlib.tsv")
	}
	var truth map[string][]evaluation.Box
	if brows, err := dataset.ReadTSV(*boxes); err == nil {
		truth = evaluation.TruthBoxes(brows)
	}
	svc, err := app.Service()
	if err != nil {
		return err
	}
	res := evaluation.DetectDataset(ctx, svc, *root, rows, truth)
	if *asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "images %d; exact count %d/%d (%.3f); box recall@IoU0.5 %d/%d (%.3f); false faces on %d no-face images: %d\n",
		res.Images, res.ExactCount, res.Countable, res.ExactCountRate, res.MatchedBoxes, res.TruthBoxes, res.BoxRecall, res.NoFaceImages, res.FalseFaces)
	for _, m := range res.Mismatches {
		fmt.Fprintln(stdout, "  mismatch:", m)
	}
	for _, e := range res.Errors {
		fmt.Fprintln(stdout, "  error:", e)
	}
	return nil
}
