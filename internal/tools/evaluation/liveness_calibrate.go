package evaluation

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/facelambda/facelambda/internal/ml/liveness"
)

// CalibrateLiveness scores every labelled image (paths relative to root,
// rows read from the labels file at labelsPath) and calibrates the level
// thresholds of the detector's fusion and, when the optional models carry
// weight, of the fusion that runs without them. Progress goes to log.
func CalibrateLiveness(ctx context.Context, m *LivenessModels, root, labelsPath string, rows []map[string]string, workers int, log io.Writer) (*liveness.CalibrationFile, error) {
	d := m.Detector
	scored, err := scoreLabelled(ctx, m.Engine, d, nil, root, rows, workers, log)
	if err != nil {
		return nil, err
	}
	// The detector's fusion, and the fusion that runs when the optional
	// models are absent (when they carry weight, it differs).
	fusions := []*liveness.Detector{d}
	if len(m.Optional) > 0 {
		if fb, err := d.Without(m.Optional...); err == nil && fb.Fusion() != d.Fusion() {
			fusions = append(fusions, fb)
		}
	}
	groups := map[string]int{}
	for _, s := range scored {
		groups[s.row["group"]]++
	}
	var gs []string
	for g, n := range groups {
		gs = append(gs, fmt.Sprintf("%s %d", g, n))
	}
	sort.Strings(gs)
	data := fmt.Sprintf("%s (%s): %d images, full frames, pooled over groups %s", filepath.Base(filepath.Clean(root)), filepath.Base(labelsPath), len(scored), strings.Join(gs, ", "))
	file := &liveness.CalibrationFile{Version: 1,
		Command: "facelambda calibrate liveness --root " + filepath.ToSlash(root) + " --labels " + filepath.ToSlash(labelsPath)}
	for _, f := range fusions {
		var samples []liveness.Sample
		for _, s := range scored {
			samples = append(samples, sampleOf(s, f.Fuse(s.res.Models, s.res.Cues)))
		}
		c, err := liveness.Calibrate(samples, f.Fusion(), data)
		if err != nil {
			return nil, err
		}
		file.Calibrations = append(file.Calibrations, c)
	}
	return file, nil
}

// crossValidate splits the subjects of each group round-robin (in sorted
// order) into k folds, calibrates the level on all folds but one and
// decides the held-out fold at that threshold. It returns nil when the
// labels have no subject column.
func crossValidate(scored []scoredImage, samples []liveness.Sample, level liveness.Level, k int) *CrossValidated {
	subjects := map[string][]string{}
	seen := map[string]bool{}
	for _, s := range scored {
		g, sub := s.row["group"], s.row["subject"]
		if sub == "" {
			return nil
		}
		if !seen[g+"\x00"+sub] {
			seen[g+"\x00"+sub] = true
			subjects[g] = append(subjects[g], sub)
		}
	}
	fold := map[string]int{}
	for g, subs := range subjects {
		sort.Strings(subs)
		for i, sub := range subs {
			fold[g+"\x00"+sub] = i % k
		}
	}
	of := func(s scoredImage) int { return fold[s.row["group"]+"\x00"+s.row["subject"]] }
	cv := &CrossValidated{Folds: k, Groups: map[string]GroupAt{}}
	var decided []liveness.Sample // held-out samples, Score replaced by accept (1) or reject (0)
	for f := 0; f < k; f++ {
		var train []liveness.Sample
		for i, s := range scored {
			if of(s) != f {
				train = append(train, samples[i])
			}
		}
		c, err := liveness.Calibrate(train, "cv", "fold")
		if err != nil {
			return nil
		}
		thr, _ := c.Threshold(level)
		cv.Thresholds = append(cv.Thresholds, thr)
		for i, s := range scored {
			if of(s) == f {
				d := samples[i]
				d.Failed = d.Failed || !(d.Score >= thr)
				d.Score = 1
				decided = append(decided, d)
			}
		}
	}
	r := liveness.At(decided, 0.5)
	cv.APCER, cv.APCERMax, cv.BPCER, cv.ACER = r.APCER, r.APCERMax, r.BPCER, r.ACER
	names, by := groupsOf(decided)
	for _, g := range names {
		gr := liveness.At(by[g], 0.5)
		cv.Groups[g] = GroupAt{APCER: gr.APCER, BPCER: gr.BPCER}
	}
	return cv
}
