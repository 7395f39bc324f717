package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

func evalPlanarity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval planarity", stdout, stderr)
	root := fs.String("root", "", "LFW folder (one sub-folder per identity), e.g. ../shared/data/lfw/lfw-deepfunneled")
	maxIDs := fs.Int("identities", 400, "identities with 3+ photos to use")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.ParseRequired(args, "root"); err != nil {
		return err
	}
	svc, err := app.Service()
	if err != nil {
		return err
	}
	res, err := evaluation.Planarity(ctx, svc, *root, *maxIDs, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "identities %d; pairs tested (similarity residual >= %.3f): real %d of %d, attack %d of %d\n",
		res.Identities, res.MinMotion, res.Real.Tested, res.Real.Pairs, res.Attack.Tested, res.Attack.Pairs)
	fmt.Fprintf(stdout, "homography residual quantiles 5/25/50/75/95%%: real %v, attack %v\n", res.Real.Homography, res.Attack.Homography)
	fmt.Fprintf(stdout, "threshold %.4f (1%% of real pairs called planar): %.1f%% of attacks caught\n", res.ThresholdAtReal1, 100*res.CaughtAtReal1)
	fmt.Fprintf(stdout, "threshold %.4f (5%% of real pairs called planar): %.1f%% of attacks caught\n", res.ThresholdAtReal5, 100*res.CaughtAtReal5)
	fmt.Fprintf(stdout, "configured %.4f: %.1f%% of attacks caught, %.1f%% of real pairs called planar\n", res.Configured, 100*res.CaughtConfigured, 100*res.RealConfigured)
	return nil
}
