package gallery_test

import (
	"context"
	"io"
	"path/filepath"
	"sort"
	"testing"

	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/gallery"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/tools/dataset"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

// TestLFWIdentifySubset runs the protocol of `facelambda eval identify`
// (evaluation.Identify) on the first identities of LFW, embedded with the
// service's pipeline: the full run is the command (docs/accuracy.md).
func TestLFWIdentifySubset(t *testing.T) {
	root := testkit.Shared(t, "data", "lfw")
	if testing.Short() {
		t.Skip("embeds about 200 LFW images")
	}
	all, err := dataset.Images(root)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(all)
	// The first identities (alphabetical) until 200 images.
	var paths []string
	for i := 0; i < len(all) && len(paths) < 200; {
		id := filepath.Dir(all[i])
		for ; i < len(all) && filepath.Dir(all[i]) == id; i++ {
			paths = append(paths, all[i])
		}
	}
	svc := biometrictest.Real(t)
	embs := evaluation.EmbedAll(context.Background(), svc, root, paths, 0, io.Discard)
	res, err := evaluation.Identify(svc.Encoder(), paths, embs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d images (%d failures): %d enrolled, %d mated, %d distractors; rank-1 %.3f rank-5 %.3f, with distractors %.3f",
		res.Images, res.Failures, res.Identities, res.Mated, res.Distractor, res.Rank1, res.Rank5, res.Rank1WithDistractors)
	for _, l := range res.Levels {
		t.Logf("%s (cosine %.3f): FPIR %.4f, FNIR %.4f", l.Level, l.Cosine, l.FPIR, l.FNIR)
	}
	if res.Identities < 10 || res.Mated < 50 || res.Distractor < 10 {
		t.Fatalf("subset too small: %+v", res)
	}
	if res.Rank1 < 0.9 || res.Rank1WithDistractors < 0.9 {
		t.Errorf("rank-1 %.3f, with distractors %.3f", res.Rank1, res.Rank1WithDistractors)
	}
	for _, l := range res.Levels {
		if l.Level == "HIGH" && (l.FPIR > 0.02 || l.FNIR > 0.2) {
			t.Errorf("HIGH: FPIR %.4f FNIR %.4f", l.FPIR, l.FNIR)
		}
	}
	for _, a := range res.Encodings {
		t.Logf("%-8s rescore %5d: top-1 agreement %.4f, top-10 overlap %.4f", a.Encoding, a.Rescore, a.Top1, a.Top10Overlap)
		if a.Rescore >= 0 && a.Top1 != 1 {
			t.Errorf("%s re-scoring %d rows: top-1 agreement %.4f, want exact", a.Encoding, a.Rescore, a.Top1)
		}
		if a.Rescore >= gallery.DefaultRescore && a.Top10Overlap != 1 {
			t.Errorf("%s re-scoring %d rows: top-10 overlap %.4f, want exact", a.Encoding, a.Rescore, a.Top10Overlap)
		}
	}
}
