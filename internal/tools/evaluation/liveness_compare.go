package evaluation

import (
	"errors"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/liveness"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// variant is one preprocessing or fusion tried by --compare.
type variant struct {
	name  string
	note  string
	score func(img *raster.RGB, box geometry.Box) (float64, error)
}

// compareVariants builds the variants compared by `eval liveness
// --compare`: how fr_liveness is read (crop geometry, channel order,
// resampling, flips), the MiniFASNet pair, and fusions of the two.
func compareVariants(l *liveness.Loaded) ([]variant, error) {
	fr := l.Models["liveness"]
	if fr == nil {
		return nil, errors.New("compare: the liveness model is not loaded")
	}
	type part struct {
		spec liveness.Spec
		m    liveness.Model
	}
	mk := func(name, note string, parts ...part) (variant, error) {
		var scorers []*liveness.Scorer
		for _, p := range parts {
			s, err := liveness.NewScorer(p.spec, p.m)
			if err != nil {
				return variant{}, err
			}
			scorers = append(scorers, s)
		}
		d, err := liveness.New(scorers...)
		if err != nil {
			return variant{}, err
		}
		return variant{name: name, note: note, score: func(img *raster.RGB, box geometry.Box) (float64, error) {
			r, err := d.Score(img, box)
			return r.Score, err
		}}, nil
	}
	box := liveness.Crop{Scale: 2.7, Mode: liveness.CropShift}
	sq := liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropShift}
	frSpec := func(name string, flip, smooth bool, ch string, w float64, crops ...liveness.Crop) part {
		return part{liveness.Spec{Name: name, Size: 128, Crops: crops, Channels: ch, Live: 0, Weight: w, Flip: flip, Smooth: smooth}, fr}
	}
	defs := []struct {
		name, note string
		parts      []part
	}{
		{"fr-notes", "fr_liveness, square box clamped to the image (model notes)", []part{frSpec("a", false, false, "BGR", 1, liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropClamp})}},
		{"fr-notes-pad", "fr_liveness, square box, black outside the image", []part{frSpec("a", false, false, "BGR", 1, liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropPad})}},
		{"fr-box-rgb", "fr_liveness, box shifted inside (package JS crop), RGB as the JS reads it", []part{frSpec("a", false, false, "RGB", 1, box)}},
		{"fr-box", "fr_liveness, box shifted inside (package JS crop), BGR", []part{frSpec("a", false, false, "BGR", 1, box)}},
		{"fr-box-smooth", "fr-box with area-averaged resampling", []part{frSpec("a", false, true, "BGR", 1, box)}},
		{"fr-box-2.2", "fr-box at scale 2.2", []part{frSpec("a", false, false, "BGR", 1, liveness.Crop{Scale: 2.2, Mode: liveness.CropShift})}},
		{"fr-square", "fr_liveness, square box shifted inside", []part{frSpec("a", false, false, "BGR", 1, sq)}},
		{"fr-box+flip", "fr-box and its mirror image", []part{frSpec("a", true, false, "BGR", 1, box)}},
		{"fr-square+flip", "fr-square and its mirror image", []part{frSpec("a", true, false, "BGR", 1, sq)}},
		{"fr-box+square", "mean of fr-box and fr-square", []part{frSpec("a", false, false, "BGR", 1, box, sq)}},
		{"fr-box+square+flip", "mean of fr-box, fr-square and their mirror images (shipped)", []part{frSpec("a", true, false, "BGR", 1, box, sq)}},
	}
	v2, v1 := l.Models["minifasnet-v2"], l.Models["minifasnet-v1se"]
	if v2 != nil && v1 != nil {
		mf := func(name string, m liveness.Model, scale, w float64, square, flip bool) part {
			return part{liveness.Spec{Name: name, Size: 80, Crops: []liveness.Crop{{Scale: scale, Square: square, Mode: liveness.CropShift}}, Channels: "BGR", Live: 1, Weight: w, Flip: flip}, m}
		}
		notes := frSpec("fr", false, false, "BGR", 1, liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropClamp})
		best := frSpec("fr", true, false, "BGR", 1, box, sq)
		defs = append(defs, []struct {
			name, note string
			parts      []part
		}{
			{"mfn-v2", "MiniFASNetV2 (scale 2.7, official crop)", []part{mf("v2", v2, 2.7, 1, false, false)}},
			{"mfn-v1se", "MiniFASNetV1SE (scale 4.0, official crop)", []part{mf("v1", v1, 4.0, 1, false, false)}},
			{"mfn-pair", "mean log-odds of the MiniFASNet pair", []part{mf("v2", v2, 2.7, 1, false, false), mf("v1", v1, 4.0, 1, false, false)}},
			{"mfn-pair-square", "the pair on square boxes", []part{mf("v2", v2, 2.7, 1, true, false), mf("v1", v1, 4.0, 1, true, false)}},
			{"mfn-pair+flip", "the pair and mirror images", []part{mf("v2", v2, 2.7, 1, false, true), mf("v1", v1, 4.0, 1, false, true)}},
			{"fr-notes|pair 1:1", "logit mean of fr-notes and the pair (model notes' fusion)", []part{notes, mf("v2", v2, 2.7, 0.5, false, false), mf("v1", v1, 4.0, 0.5, false, false)}},
			{"shipped|pair 1:1", "logit mean of the shipped fr_liveness reading and the pair", []part{best, mf("v2", v2, 2.7, 0.5, false, false), mf("v1", v1, 4.0, 0.5, false, false)}},
			{"shipped|pair 2:1", "the same, pair at half weight", []part{best, mf("v2", v2, 2.7, 0.25, false, false), mf("v1", v1, 4.0, 0.25, false, false)}},
			{"shipped|pair-square 2:1", "the same, pair on square boxes", []part{best, mf("v2", v2, 2.7, 0.25, true, false), mf("v1", v1, 4.0, 0.25, true, false)}},
		}...)
	}
	var out []variant
	for _, d := range defs {
		v, err := mk(d.name, d.note, d.parts...)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// CompareRow is one variant's pooled and per-group figures.
type CompareRow struct {
	Name          string             `json:"name"`
	Note          string             `json:"note"`
	AUC           float64            `json:"auc"`
	BestACER      float64            `json:"best_acer"` // in-sample, lowest (APCER+BPCER)/2 over thresholds
	BPCERAtAPCER5 float64            `json:"bpcer_at_apcer_5"`
	BPCERAtAPCER1 float64            `json:"bpcer_at_apcer_1"`
	GroupAUC      map[string]float64 `json:"group_auc"`
	// Transfer gives each group's rates at the threshold set at APCER 5%
	// on the other groups (how a threshold moves between cameras).
	Transfer map[string]GroupAt `json:"transfer"`
}

func compareRows(variants []variant, scored []scoredImage) []CompareRow {
	var rows []CompareRow
	for _, v := range variants {
		var samples []liveness.Sample
		for _, s := range scored {
			samples = append(samples, sampleOf(s, s.extra[v.name]))
		}
		acer, _ := liveness.BestACER(samples)
		r := CompareRow{Name: v.name, Note: v.note, AUC: liveness.AUC(samples), BestACER: acer,
			BPCERAtAPCER5: liveness.BPCERAtAPCER(samples, 0.05), BPCERAtAPCER1: liveness.BPCERAtAPCER(samples, 0.01),
			GroupAUC: map[string]float64{}, Transfer: map[string]GroupAt{}}
		names, by := groupsOf(samples)
		for _, g := range names {
			r.GroupAUC[g] = liveness.AUC(by[g])
			var others []liveness.Sample
			for _, s := range samples {
				if s.Group != g {
					others = append(others, s)
				}
			}
			if thr, ok := liveness.ThresholdAtAPCER(others, 0.05); ok {
				at := liveness.At(by[g], thr)
				r.Transfer[g] = GroupAt{APCER: at.APCER, BPCER: at.BPCER}
			}
		}
		rows = append(rows, r)
	}
	return rows
}
