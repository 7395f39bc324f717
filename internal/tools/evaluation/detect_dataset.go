package evaluation

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

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

// TruthBoxes reads ground-truth boxes from TSV rows (path, left, top,
// width, height, ignore), leaving out the rows marked ignore.
func TruthBoxes(rows []map[string]string) map[string][]Box {
	truth := map[string][]Box{}
	for _, r := range rows {
		if r["ignore"] == "1" {
			continue
		}
		var b [4]float64
		for i, k := range []string{"left", "top", "width", "height"} {
			b[i], _ = strconv.ParseFloat(r[k], 64)
		}
		truth[r["path"]] = append(truth[r["path"]], Box{X: b[0], Y: b[1], W: b[2], H: b[3]})
	}
	return truth
}

// DetectDataset detects the faces of every labelled image (rows: path,
// category, expected_faces; paths relative to root) and counts exact
// face counts, false faces on no-face images, and the recall at IoU 0.5
// of the truth boxes.
func DetectDataset(ctx context.Context, svc *biometric.Service, root string, rows []map[string]string, truth map[string][]Box) DetectResult {
	var paths []string
	for _, r := range rows {
		paths = append(paths, r["path"])
	}
	found := dataset.Map(ctx, paths, 0, func(p string) ([]biometric.Box, error) {
		b, err := os.ReadFile(filepath.Join(root, p))
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
			var fb []Box
			for _, b := range f.Value {
				fb = append(fb, Box{X: b.X, Y: b.Y, W: b.Width, H: b.Height})
			}
			m, _ := MatchBoxes(tb, fb, 0.5)
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
	return res
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
