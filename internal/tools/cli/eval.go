package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"text/tabwriter"

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
	if err := fs.ParseRequired(args, "root", "pairs"); err != nil {
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
	printFARCheck(stdout, res.FARCheck)
	return nil
}

// printFARCheck prints the calibration check of eval verify as a table,
// then one sentence per working point.
func printFARCheck(w io.Writer, fc *evaluation.FARCheckReport) {
	if fc == nil {
		return
	}
	fmt.Fprintf(w, "\ncalibration check: table %s (%s, %d impostor pairs) against these pairs; interval %s\n",
		fc.Encoder, fc.TableSource, fc.TableImpostors, fc.Interval)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAR\tcosine\tpredicted FAR\timpostors\taccepted\tmeasured FAR\t95% interval\tgenuine accept\tverdict")
	for _, p := range fc.Points {
		cos := fmt.Sprintf("%.3f", p.Cosine)
		if p.Extrapolated {
			cos += " (extrapolated)"
		}
		fmt.Fprintf(tw, "%g\t%s\t%.3g\t%d\t%d\t%.3g\t[%.3g, %.3g]\t%.4f (%d/%d)\t%s\n",
			p.FAR, cos, p.PredictedFAR, p.Impostor, p.Accepted, p.MeasuredFAR, p.Low, p.High,
			p.TAR, p.GenuineAccepted, p.Genuine, p.Verdict)
	}
	tw.Flush()
	for _, p := range fc.Points {
		fmt.Fprintf(w, "FAR %g: %s\n", p.FAR, p.Note)
	}
}

func evalDetect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval detect", stdout, stderr)
	root := fs.String("root", "", "folder the labels' paths are relative to")
	labels := fs.String("labels", "", "labels.tsv: path, category, expected_faces (n, >=n, ? or 'n (partial)')")
	boxes := fs.String("boxes", "", "optional ground-truth boxes TSV (path, left, top, width, height, ignore); default boxes_dlib.tsv beside the labels")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.ParseRequired(args, "root", "labels"); err != nil {
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
