package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

func evalFusion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval template-fusion", stdout, stderr)
	root := fs.String("root", "", "LFW image folder, one sub-folder per identity")
	enrolN := fs.Int("enrol", 3, "images per template")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.ParseRequired(args, "root"); err != nil {
		return err
	}
	svc, err := app.Service()
	if err != nil {
		return err
	}
	res, err := evaluation.TemplateFusion(ctx, svc, *root, *enrolN, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%d templates of %d images; %d genuine and %d impostor probes\n", res.Identities, *enrolN, res.Genuine, res.Impostor)
	for _, r := range evaluation.FusionRules {
		st := res.Rules[r]
		fmt.Fprintf(stdout, "  %-9s AUC %.5f  EER %.4f  TAR@1e-3 %.4f  TAR@1e-4 %.4f  TAR@1e-5 %.4f  measured FAR at table 1e-3 %.2g, 1e-4 %.2g\n", r, st.AUC, st.EER,
			st.TARAtFAR["0.001"], st.TARAtFAR["0.0001"], st.TARAtFAR["1e-05"], st.MeasuredFAR["0.001"], st.MeasuredFAR["0.0001"])
	}
	return nil
}
