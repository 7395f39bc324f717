package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/tools/evaluation"
)

// defaultAnnotations is where the repository keeps the clips' annotations.
const defaultAnnotations = "internal/tools/evaluation/testdata/active/annotations.tsv"

type clipFlags struct {
	dir, labels, annotations, trace, only string
	json                                  bool
}

// evalActiveClips runs real clips through the active liveness analysis of
// the API (liveness.Service.Analyse, with the server's challenge
// configuration) and prints each verdict, its measures, BPCER and APCER.
func evalActiveClips(ctx context.Context, f clipFlags, stdout io.Writer) error {
	if f.labels == "" {
		return fmt.Errorf("eval active: --clips needs --labels")
	}
	labels, err := evaluation.ReadClipLabels(f.labels)
	if err != nil {
		return err
	}
	if f.annotations == "" {
		f.annotations = defaultAnnotations
	}
	af, err := os.Open(f.annotations)
	if err != nil {
		return fmt.Errorf("eval active: annotations: %w", err)
	}
	an, err := evaluation.ParseAnnotations(af)
	af.Close()
	if err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	bio, err := app.NewService(cfg.Models, true)
	if err != nil {
		return err
	}
	pas, err := app.OpenLiveness(cfg.Models)
	if err != nil {
		return err
	}
	// The server's active liveness, with the measures
	// answered; no key is needed outside a session.
	svc := liveness.New(liveness.Deps{Bio: bio, Passive: pas,
		Active: &liveness.Active{Challenge: challenge.DefaultConfig(), ExposeChecks: true}})
	clips := evaluation.ClipsConfig{Dir: f.dir, Labels: labels, Annotations: an}
	if f.only != "" {
		clips.Only = strings.Split(f.only, ",")
	}
	res, err := evaluation.ActiveClips(ctx, svc, clips)
	if err != nil {
		return err
	}
	if f.trace != "" {
		if err := writeTraces(f.trace, res, an, labels); err != nil {
			return err
		}
	}
	if f.json {
		return printJSON(stdout, res)
	}
	printClips(stdout, res)
	return nil
}

func writeTraces(dir string, res *evaluation.ClipsResult, an evaluation.Annotations, labels []evaluation.ClipLabel) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fps := map[string]float64{}
	for _, l := range labels {
		fps[l.Clip] = l.FPS
	}
	for i := range res.Clips {
		r := &res.Clips[i]
		var b strings.Builder
		if err := evaluation.WriteTraceTSV(&b, r.Trace); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, r.Clip+".tsv"), []byte(b.String()), 0o644); err != nil {
			return err
		}
		thr := 0.0
		if r.Checks != nil && r.Checks.Measures != nil {
			thr = r.Checks.Measures.PassiveThreshold
		}
		b.Reset()
		if err := evaluation.WriteSVG(&b, evaluation.TraceChart(r, an.Within(r.Clip, r.Sent)[r.Clip], fps[r.Clip], thr)); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, r.Clip+".svg"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func printClips(w io.Writer, res *evaluation.ClipsResult) {
	for _, r := range res.Clips {
		asked := make([]string, len(r.Challenges))
		for i, a := range r.Challenges {
			asked[i] = string(a)
		}
		origin := r.Origin
		switch r.Origin {
		case evaluation.OriginProbe:
			origin = "probe: no challenge move annotated, asked a TURN_LEFT it does not make"
		case evaluation.OriginAnnotations:
			origin = fmt.Sprintf("from the annotations (%d moves annotated)", len(r.Annotated))
		}
		fmt.Fprintf(w, "%-8s %-8s frames %d (sent %d)  asked %s [%s]\n  %s %s\n", r.Clip, r.Label, r.Frames, r.Sent,
			strings.Join(asked, ","), origin, r.Status, r.Diagnostic)
		var steps []string
		for _, s := range r.Steps {
			st := fmt.Sprintf("%s not met", s.Action)
			if s.Met && s.AtMs != nil {
				st = fmt.Sprintf("%s met at %.1fs", s.Action, float64(*s.AtMs)/1000)
			}
			steps = append(steps, st)
		}
		fmt.Fprintf(w, "  steps: %s\n", strings.Join(steps, "; "))
		if c := r.Checks; c != nil {
			fmt.Fprintf(w, "  frames analysed %d, with a face %d, %.1fs, level %s\n", c.Frames, c.FramesWithFace, float64(c.DurationMs)/1000, c.PassiveLevel)
			if m := c.Measures; m != nil {
				passive := "none"
				if m.PassiveScore != nil {
					passive = fmt.Sprintf("%.3f", *m.PassiveScore)
				}
				fmt.Fprintf(w, "  identity min cosine %.3f (>= %.3f); planar pairs %d, similarity %.3f, homography %.3f, planar %v; passive %s over %d frames (>= %.3f)\n",
					m.IdentityMinCosine, m.IdentityThreshold, m.PlanarPairs, m.PlanarSimilarityResidual, m.PlanarHomographyResidual, m.Planar,
					passive, m.PassiveFrames, m.PassiveThreshold)
			}
		}
	}
	fmt.Fprintf(w, "BPCER %.3f (%d of %d bona fide clips performing their challenges not SUCCESS)\n", res.BPCER, res.BonaFideFail, res.BonaFide)
	fmt.Fprintf(w, "APCER %.3f (%d of %d attack clips SUCCESS)\n", res.APCER, res.AttackPass, res.Attacks)
	fmt.Fprintf(w, "bona fide probes (no move made, TURN_LEFT asked): %d, SUCCESS %d (should be 0)\n", res.Probes, res.ProbeSuccess)
}
