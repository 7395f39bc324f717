package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/facelambda/facelambda/internal/dataset"
	"github.com/facelambda/facelambda/internal/evaluation"
	"github.com/facelambda/facelambda/internal/face"
	"github.com/facelambda/facelambda/internal/server"
)

func init() {
	register("eval template-fusion", "eval template-fusion --root DIR [--enrol N]      how a multi-vector template scores a probe (max, mean, centroid) on LFW", evalFusion)
}

// FusionResult compares ways of scoring a probe against a template of
// several feature vectors.
type FusionResult struct {
	Identities int                       `json:"identities"`
	EnrolPer   int                       `json:"enrolled_per_template"`
	Genuine    int                       `json:"genuine"`
	Impostor   int                       `json:"impostor"`
	Rules      map[string]FusionRuleStat `json:"rules"`
}

// FusionRuleStat is one rule's verification figures.
type FusionRuleStat struct {
	AUC      float64            `json:"auc"`
	EER      float64            `json:"eer"`
	TARAtFAR map[string]float64 `json:"tar_at_far"`
	// MeasuredFAR is, for each FAR of the single-comparison calibration
	// table, the impostor rate this rule shows at the table's cosine: how
	// well the table's FARs hold for the rule's scores.
	MeasuredFAR map[string]float64 `json:"measured_far_at_table_cosine"`
}

// evalFusion builds templates of --enrol images for every LFW identity with
// more, probes them with the identity's other images (genuine) and with
// every image of other identities (impostor), and scores three rules:
// the best cosine over the template's vectors, the mean cosine, and the
// cosine to the normalised mean vector.
func evalFusion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval template-fusion", stderr)
	root := fs.String("root", "", "LFW image folder, one sub-folder per identity")
	enrolN := fs.Int("enrol", 3, "images per template")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "root"); err != nil {
		return err
	}
	svc, err := server.Service()
	if err != nil {
		return err
	}
	paths, err := dataset.Images(*root)
	if err != nil {
		return err
	}
	sort.Strings(paths)
	embs := embedAll(ctx, svc, *root, paths, 0, stderr)
	byID := map[string][][]float32{}
	var ids []string
	for _, p := range paths {
		r := embs[p]
		if r.Err != nil {
			continue
		}
		id := filepath.Dir(p)
		if _, ok := byID[id]; !ok {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], r.Value)
	}
	type tpl struct {
		id       string
		vecs     [][]float32
		centroid []float32
	}
	var tpls []tpl
	for _, id := range ids {
		v := byID[id]
		if len(v) <= *enrolN {
			continue
		}
		c := make([]float32, len(v[0]))
		for _, x := range v[:*enrolN] {
			for i := range c {
				c[i] += x[i]
			}
		}
		tpls = append(tpls, tpl{id: id, vecs: v[:*enrolN], centroid: face.Normalize(c)})
	}
	rules := []string{"max", "mean", "centroid"}
	pairs := map[string][]evaluation.Pair{}
	score := func(t tpl, probe []float32) map[string]float64 {
		best, sum := -2.0, 0.0
		for _, v := range t.vecs {
			c := face.Cosine(v, probe)
			best = max(best, c)
			sum += c
		}
		return map[string]float64{"max": best, "mean": sum / float64(len(t.vecs)), "centroid": face.Cosine(t.centroid, probe)}
	}
	res := FusionResult{Identities: len(tpls), EnrolPer: *enrolN, Rules: map[string]FusionRuleStat{}}
	for _, t := range tpls {
		for _, probe := range byID[t.id][*enrolN:] {
			for r, s := range score(t, probe) {
				pairs[r] = append(pairs[r], evaluation.Pair{Score: s, Same: true})
			}
			res.Genuine++
		}
		for _, other := range ids {
			if other == t.id {
				continue
			}
			for _, probe := range byID[other] {
				for r, s := range score(t, probe) {
					pairs[r] = append(pairs[r], evaluation.Pair{Score: s})
				}
				res.Impostor++
			}
		}
	}
	for _, r := range rules {
		rep := evaluation.Verify(pairs[r], []float64{1e-3, 1e-4, 1e-5})
		st := FusionRuleStat{AUC: rep.AUC, EER: rep.EER, TARAtFAR: map[string]float64{}, MeasuredFAR: map[string]float64{}}
		for far, tar := range rep.TARAtFAR {
			st.TARAtFAR[strconv.FormatFloat(far, 'g', -1, 64)] = tar
		}
		for _, far := range []float64{1e-3, 1e-4} {
			cos, err := svc.CosineAt(far)
			if err != nil {
				return err
			}
			above := 0
			for _, p := range pairs[r] {
				if !p.Same && p.Score >= cos {
					above++
				}
			}
			st.MeasuredFAR[strconv.FormatFloat(far, 'g', -1, 64)] = float64(above) / float64(res.Impostor)
		}
		res.Rules[r] = st
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%d templates of %d images; %d genuine and %d impostor probes\n", res.Identities, *enrolN, res.Genuine, res.Impostor)
	for _, r := range rules {
		st := res.Rules[r]
		fmt.Fprintf(stdout, "  %-9s AUC %.5f  EER %.4f  TAR@1e-3 %.4f  TAR@1e-4 %.4f  TAR@1e-5 %.4f  measured FAR at table 1e-3 %.2g, 1e-4 %.2g\n", r, st.AUC, st.EER,
			st.TARAtFAR["0.001"], st.TARAtFAR["0.0001"], st.TARAtFAR["1e-05"], st.MeasuredFAR["0.001"], st.MeasuredFAR["0.0001"])
	}
	return nil
}
