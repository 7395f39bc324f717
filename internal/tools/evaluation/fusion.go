package evaluation

import (
	"context"
	"io"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/ml/face"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

// FusionRules are the ways TemplateFusion scores a probe against a
// template of several vectors, in report order.
var FusionRules = []string{"max", "mean", "centroid"}

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

// TemplateFusion builds templates of enrolN images for every identity
// under root with more, probes them with the identity's other images
// (genuine) and with every image of other identities (impostor), and
// scores three rules: the best cosine over the template's vectors, the
// mean cosine, and the cosine to the normalised mean vector. Progress goes
// to log.
func TemplateFusion(ctx context.Context, svc *biometric.Service, root string, enrolN int, log io.Writer) (*FusionResult, error) {
	paths, err := dataset.Images(root)
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	embs := EmbedAll(ctx, svc, root, paths, 0, log)
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
		if len(v) <= enrolN {
			continue
		}
		c := make([]float32, len(v[0]))
		for _, x := range v[:enrolN] {
			for i := range c {
				c[i] += x[i]
			}
		}
		tpls = append(tpls, tpl{id: id, vecs: v[:enrolN], centroid: face.Normalize(c)})
	}

	pairs := map[string][]Pair{}
	score := func(t tpl, probe []float32) map[string]float64 {
		best, sum := -2.0, 0.0
		for _, v := range t.vecs {
			c := face.Cosine(v, probe)
			best = max(best, c)
			sum += c
		}
		return map[string]float64{"max": best, "mean": sum / float64(len(t.vecs)), "centroid": face.Cosine(t.centroid, probe)}
	}
	res := &FusionResult{Identities: len(tpls), EnrolPer: enrolN, Rules: map[string]FusionRuleStat{}}
	for _, t := range tpls {
		for _, probe := range byID[t.id][enrolN:] {
			for r, s := range score(t, probe) {
				pairs[r] = append(pairs[r], Pair{Score: s, Same: true})
			}
			res.Genuine++
		}
		for _, other := range ids {
			if other == t.id {
				continue
			}
			for _, probe := range byID[other] {
				for r, s := range score(t, probe) {
					pairs[r] = append(pairs[r], Pair{Score: s})
				}
				res.Impostor++
			}
		}
	}
	for _, r := range FusionRules {
		rep := Verify(pairs[r], []float64{1e-3, 1e-4, 1e-5})
		st := FusionRuleStat{AUC: rep.AUC, EER: rep.EER, TARAtFAR: map[string]float64{}, MeasuredFAR: map[string]float64{}}
		for far, tar := range rep.TARAtFAR {
			st.TARAtFAR[strconv.FormatFloat(far, 'g', -1, 64)] = tar
		}
		for _, far := range []float64{1e-3, 1e-4} {
			cos, err := svc.CosineAt(far)
			if err != nil {
				return nil, err
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
	return res, nil
}
