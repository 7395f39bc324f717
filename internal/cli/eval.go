package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/facelambda/facelambda/internal/biometric"
	"github.com/facelambda/facelambda/internal/dataset"
	"github.com/facelambda/facelambda/internal/evaluation"
	"github.com/facelambda/facelambda/internal/face"
	"github.com/facelambda/facelambda/internal/server"
)

// VerifyResult is the JSON report of `eval verify`.
type VerifyResult struct {
	Accuracy     float64            `json:"accuracy"`
	Threshold    float64            `json:"threshold"`
	FoldAccuracy *FoldSummary       `json:"fold_accuracy,omitempty"`
	AUC          float64            `json:"auc"`
	EER          float64            `json:"eer"`
	TARAtFAR     map[string]float64 `json:"tar_at_far"`
	Pairs        int                `json:"pairs"`
	Scored       int                `json:"scored_pairs"`
	Genuine      int                `json:"genuine"`
	Impostor     int                `json:"impostor"`
	Images       int                `json:"images"`
	Failures     int                `json:"failures"`
	FailedImages []string           `json:"failed_images,omitempty"`
}

// FoldSummary is the k-fold accuracy (threshold chosen on the other folds).
type FoldSummary struct {
	Mean  float64            `json:"mean"`
	Std   float64            `json:"std"`
	Folds map[string]float64 `json:"folds"`
}

func evalVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval verify", stderr)
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
	svc, err := server.Service()
	if err != nil {
		return err
	}
	res := Verify(ctx, svc, *root, pairs, *workers, stderr)
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

// Verify embeds each distinct image of the pairs once and scores the pairs.
// A pair with an image where no face was found counts as a failure and, to
// keep the figures honest, as a wrong decision at every threshold is not
// assumed: it is left out of the scored pairs and reported.
func Verify(ctx context.Context, svc *biometric.Service, root string, pairs []dataset.Pair, workers int, stderr io.Writer) VerifyResult {
	var paths []string
	for _, p := range pairs {
		paths = append(paths, p.A, p.B)
	}
	embs := embedAll(ctx, svc, root, paths, workers, stderr)
	res := VerifyResult{Pairs: len(pairs), Images: len(embs), TARAtFAR: map[string]float64{}}
	for p, r := range embs {
		if r.Err != nil {
			res.Failures++
			res.FailedImages = append(res.FailedImages, p)
		}
	}
	sort.Strings(res.FailedImages)
	var scored []evaluation.Pair
	for _, p := range pairs {
		a, b := embs[p.A], embs[p.B]
		if a.Err != nil || b.Err != nil {
			continue
		}
		scored = append(scored, evaluation.Pair{Score: face.Cosine(a.Value, b.Value), Same: p.Same, Fold: p.Fold})
	}
	rep := evaluation.Verify(scored, []float64{1e-2, 1e-3, 1e-4, 1e-5, 1e-6})
	res.Scored, res.Genuine, res.Impostor = len(scored), rep.Genuine, rep.Impostor
	res.Accuracy, res.Threshold, res.AUC, res.EER = rep.Accuracy, rep.Threshold, rep.AUC, rep.EER
	for far, tar := range rep.TARAtFAR {
		res.TARAtFAR[strconv.FormatFloat(far, 'g', -1, 64)] = tar
	}
	if fa := rep.FoldAccuracy; fa != nil {
		res.FoldAccuracy = &FoldSummary{Mean: fa.Mean, Std: fa.Std, Folds: map[string]float64{}}
		for _, f := range fa.Folds {
			res.FoldAccuracy.Folds[strconv.Itoa(f.Fold)] = f.Accuracy
		}
	}
	return res
}

// DetectResult is the JSON report of `eval detect`.
type DetectResult struct {
	Images         int            `json:"images"`
	Countable      int            `json:"countable"`
	ExactCount     int            `json:"exact_count"`
	ExactCountRate float64        `json:"exact_count_rate"`
	TruthBoxes     int            `json:"truth_boxes"`
	MatchedBoxes   int            `json:"matched_boxes"`
	BoxRecall      float64        `json:"box_recall_iou50"`
	NoFaceImages   int            `json:"no_face_images"`
	FalseFaces     int            `json:"false_faces"`
	ByCategory     map[string]int `json:"exact_by_category"`
	Mismatches     []string       `json:"mismatches,omitempty"`
	Errors         []string       `json:"errors,omitempty"`
}

func evalDetect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval detect", stderr)
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
	truth := map[string][]evaluation.Box{}
	if brows, err := dataset.ReadTSV(*boxes); err == nil {
		for _, r := range brows {
			if r["ignore"] == "1" {
				continue
			}
			var b [4]float64
			for i, k := range []string{"left", "top", "width", "height"} {
				b[i], _ = strconv.ParseFloat(r[k], 64)
			}
			truth[r["path"]] = append(truth[r["path"]], evaluation.Box{X: b[0], Y: b[1], W: b[2], H: b[3]})
		}
	}
	svc, err := server.Service()
	if err != nil {
		return err
	}
	var paths []string
	for _, r := range rows {
		paths = append(paths, r["path"])
	}
	found := dataset.Map(ctx, paths, 0, func(p string) ([]biometric.Box, error) {
		b, err := readFile(filepath.Join(*root, p))
		if err != nil {
			return nil, err
		}
		return svc.DetectAll(b)
	}, nil)
	res := DetectResult{Images: len(rows), ByCategory: map[string]int{}}
	for _, r := range rows {
		p := r["path"]
		f := found[p]
		if f.Err != nil {
			res.Errors = append(res.Errors, p+": "+f.Err.Error())
			continue
		}
		n := len(f.Value)
		want := strings.TrimSpace(r["expected_faces"])
		ok, countable := countMatches(want, n)
		if want == "0" {
			res.NoFaceImages++
			res.FalseFaces += n
		}
		if countable {
			res.Countable++
			if ok {
				res.ExactCount++
				res.ByCategory[r["category"]]++
			} else {
				res.Mismatches = append(res.Mismatches, fmt.Sprintf("%s: expected %s, found %d", p, want, n))
			}
		}
		if tb := truth[p]; len(tb) > 0 {
			var fb []evaluation.Box
			for _, b := range f.Value {
				fb = append(fb, evaluation.Box{X: b.X, Y: b.Y, W: b.Width, H: b.Height})
			}
			m, _ := evaluation.MatchBoxes(tb, fb, 0.5)
			res.TruthBoxes += len(tb)
			res.MatchedBoxes += m
		}
	}
	if res.Countable > 0 {
		res.ExactCountRate = float64(res.ExactCount) / float64(res.Countable)
	}
	if res.TruthBoxes > 0 {
		res.BoxRecall = float64(res.MatchedBoxes) / float64(res.TruthBoxes)
	}
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

// countMatches compares a found count with an expected-count label:
// "n" exact, ">=n" at least n, "n (partial)" exact, "?" not countable.
func countMatches(want string, n int) (ok, countable bool) {
	want = strings.TrimSpace(strings.SplitN(want, " ", 2)[0])
	if strings.HasPrefix(want, ">=") {
		k, err := strconv.Atoi(want[2:])
		return err == nil && n >= k, err == nil
	}
	k, err := strconv.Atoi(want)
	if err != nil {
		return false, false
	}
	return n == k, true
}
