package evaluation

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/tools/dataset"
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

	// FARCheck compares the calibration table's FAR with the impostor rate
	// measured on the scored pairs at each working point; nil when the
	// service's encoder has no table.
	FARCheck *FARCheckReport `json:"far_check,omitempty"`
}

// FARCheckReport is the calibration check of `eval verify`.
type FARCheckReport struct {
	Encoder        string     `json:"encoder"`
	TableSource    string     `json:"table_source"`         // data the table was built from
	TableImpostors int64      `json:"table_impostor_pairs"` // impostor pairs it was built from
	Interval       string     `json:"interval"`             // IntervalMethod
	Points         []FARCheck `json:"points"`
}

// FoldSummary is the k-fold accuracy (threshold chosen on the other folds).
type FoldSummary struct {
	Mean  float64            `json:"mean"`
	Std   float64            `json:"std"`
	Folds map[string]float64 `json:"folds"`
}

// VerifyDataset embeds each distinct image of the pairs once and scores the pairs.
// A pair with an image where no face was found counts as a failure and, to
// keep the figures honest, as a wrong decision at every threshold is not
// assumed: it is left out of the scored pairs and reported.
func VerifyDataset(ctx context.Context, svc *biometric.Service, root string, pairs []dataset.Pair, workers int, log io.Writer) VerifyResult {
	var paths []string
	for _, p := range pairs {
		paths = append(paths, p.A, p.B)
	}
	embs := EmbedAll(ctx, svc, root, paths, workers, log)
	res := VerifyResult{Pairs: len(pairs), Images: len(embs), TARAtFAR: map[string]float64{}}
	for p, r := range embs {
		if r.Err != nil {
			res.Failures++
			res.FailedImages = append(res.FailedImages, p)
		}
	}
	sort.Strings(res.FailedImages)
	var scored []Pair
	for _, p := range pairs {
		a, b := embs[p.A], embs[p.B]
		if a.Err != nil || b.Err != nil {
			continue
		}
		scored = append(scored, Pair{Score: face.Cosine(a.Value, b.Value), Same: p.Same, Fold: p.Fold})
	}
	rep := Verify(scored, WorkingFARs)
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
	if table, err := calibration.Default(svc.Encoder()); err != nil {
		fmt.Fprintf(log, "no calibration check: %v\n", err)
	} else {
		res.FARCheck = &FARCheckReport{Encoder: table.Encoder, TableSource: table.Source, TableImpostors: table.Impostors,
			Interval: IntervalMethod, Points: CheckFAR(scored, table, WorkingFARs)}
	}
	return res
}
