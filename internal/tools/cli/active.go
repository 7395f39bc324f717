package cli

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

func evalActive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval active", stdout, stderr)
	root := fs.String("root", "", "LFW folder (one sub-folder per identity), e.g. ../shared/data/lfw/lfw-deepfunneled")
	maxIDs := fs.Int("identities", 400, "identities with 4+ photos to use")
	asJSON := fs.Bool("json", false, "print JSON")
	clips := fs.String("clips", "", "instead of --root: folder of real clips (one folder of JPEG frames each), e.g. ../shared/data/active")
	labels := fs.String("labels", "", "with --clips: the clips' labels.tsv (clip, label, fps, challenges)")
	annotations := fs.String("annotations", "", "with --clips: move annotations, for clips listed without challenges (default internal/tools/evaluation/testdata/active/annotations.tsv)")
	trace := fs.String("trace", "", "with --clips: folder to write each clip's trace (TSV and SVG plot)")
	only := fs.String("only", "", "with --clips: comma-separated clips to run (default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clips != "" {
		return evalActiveClips(ctx, clipFlags{dir: *clips, labels: *labels, annotations: *annotations, trace: *trace, only: *only, json: *asJSON}, stdout)
	}
	if err := required(fs, "root"); err != nil {
		return err
	}
	svc, err := app.Service()
	if err != nil {
		return err
	}
	res, err := evaluation.Active(ctx, svc, *root, *maxIDs)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	keys := make([]string, 0, len(res.Cues))
	for k := range res.Cues {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "%-40s n=%-5d quantiles 5/10/25/50/75/90/95%%: %v\n", k, res.Cues[k].N, res.Cues[k].Quantiles)
	}
	fmt.Fprintf(stdout, "identities %d\nbona fide sequences %d: %v\n  diagnostics %v\nattack sequences %d: %v\n  diagnostics %v\nBPCER %.3f  APCER %.3f\n",
		res.Identities, res.BonaFide.Sequences, res.BonaFide.Status, res.BonaFide.Diagnostics,
		res.Attack.Sequences, res.Attack.Status, res.Attack.Diagnostics, res.BPCER, res.APCER)
	return nil
}
