package evaluation

import (
	"fmt"
	"sort"
	"strings"

	"github.com/facelambda/facelambda/internal/ml/liveness"
)

// RuntimeScore returns the fused score the detector d gives a sample, from
// the sample's cached readings: each model's mean over its crops (and
// mirrors) and the weighted cues, as Detector.Score computes them. It
// fails when a model reads a crop the readings do not hold.
func RuntimeScore(d *liveness.Detector, f map[string]float64) (float64, error) {
	models := map[string]float64{}
	for _, sp := range d.Specs() {
		var sum float64
		n := 0
		for _, c := range sp.Crops {
			for _, flip := range []bool{false, true} {
				if flip && !sp.Flip {
					continue
				}
				feat := ""
				for _, r := range readings {
					if r.model == sp.Name && r.crop == c && r.flip == flip {
						feat = r.feat
					}
				}
				v, ok := f[feat]
				if feat == "" || !ok {
					return 0, fmt.Errorf("passive features hold no reading of %s on crop %+v (mirrored %v): add it to the readings", sp.Name, c, flip)
				}
				sum += v
				n++
			}
		}
		models[sp.Name] = sum / float64(n)
	}
	return d.Fuse(models, f), nil
}

// PassiveCalibration is what `calibrate liveness --data` found: the levels
// file for the shipped fusion and the fit that gave its weights.
type PassiveCalibration struct {
	File *liveness.CalibrationFile `json:"file"`
	// Fit is ShippedFusion fitted on every source; ManifestWeights are its
	// weights in the manifest's terms (model weights; cue weights and the
	// bias, as the offset, divided by the models' total), which the
	// manifest should carry.
	Fit             logit              `json:"fit"`
	ManifestWeights map[string]float64 `json:"manifest_weights"`
	// Manifest are the weights the manifest carries now.
	Manifest map[string]float64 `json:"manifest"`
}

// fusionModels maps the derived features of the fusions to the manifest's
// models.
var fusionModels = map[string]string{FeatFR: "liveness", FeatMFV2F: "minifasnet-v2", FeatMFV1F: "minifasnet-v1se"}

// CalibratePassive fits the shipped fusion on every sample, and calibrates
// the level thresholds of the detector's fusion (the manifest's weights)
// on every sample with the pooled rule. command is recorded in the file.
func CalibratePassive(d *liveness.Detector, samples []PassiveSample, command string) (*PassiveCalibration, error) {
	for i := range samples {
		if samples[i].F != nil {
			derive(samples[i].F)
		}
	}
	var fu *PassiveFusion
	for _, f := range PassiveFusions() {
		if f.Name == ShippedFusion {
			fu = &f
		}
	}
	if fu == nil {
		return nil, fmt.Errorf("no fusion named %q", ShippedFusion)
	}
	fit, err := fitFusion(*fu, samples, defaultLambda)
	if err != nil {
		return nil, err
	}
	res := &PassiveCalibration{Fit: fit, ManifestWeights: map[string]float64{}, Manifest: map[string]float64{}}
	var total float64
	for i, n := range fit.Feats {
		if m, ok := fusionModels[n]; ok {
			res.ManifestWeights[m] = fit.W[i]
			total += fit.W[i]
		}
	}
	for i, n := range fit.Feats {
		if _, ok := fusionModels[n]; !ok && total > 0 {
			res.ManifestWeights[n] = fit.W[i] / total
		}
	}
	for _, sp := range d.Specs() {
		res.Manifest[sp.Name] = sp.Weight
	}
	for _, c := range d.Terms().Cues {
		res.Manifest[c.Name] = c.Weight
	}
	res.Manifest["offset"] = d.Terms().Offset
	if total > 0 {
		res.ManifestWeights["offset"] = fit.Bias / total
	}
	var ls []liveness.Sample
	counts := map[string]int{}
	for _, s := range samples {
		ls1 := liveness.Sample{Attack: s.Attack, Type: s.Type, Group: s.Source, Failed: s.Failed || s.F == nil}
		if !ls1.Failed {
			if ls1.Score, err = RuntimeScore(d, s.F); err != nil {
				return nil, err
			}
		}
		ls = append(ls, ls1)
		counts[s.Source]++
	}
	var gs []string
	for g, n := range counts {
		gs = append(gs, fmt.Sprintf("%s %d", g, n))
	}
	sort.Strings(gs)
	data := fmt.Sprintf("passive sources (pad, pad-replay, active frames): %d presentations, full frames, pooled over %s", len(ls), strings.Join(gs, ", "))
	c, err := liveness.Calibrate(ls, d.Fusion(), data)
	if err != nil {
		return nil, err
	}
	res.File = &liveness.CalibrationFile{Version: 1, Command: command, Calibrations: []*liveness.Calibration{c}}
	return res, nil
}

// defaultLambda is the L2 penalty of the fitted fusions.
const defaultLambda = 0.01
