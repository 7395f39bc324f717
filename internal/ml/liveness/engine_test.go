package liveness_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/engine/enginetest"
	"github.com/facelambda/facelambda/internal/ml/liveness"
	"github.com/facelambda/facelambda/internal/testkit"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

func open(t *testing.T) (*engine.Engine, *liveness.Loaded) {
	t.Helper()
	cfg := enginetest.Config(t)
	eng, err := engine.Open(cfg)
	require.NoError(t, err)
	l, err := liveness.Open(cfg)
	require.NoError(t, err, "run `make layers`")
	return eng, l
}

// score finds the subject face of an image file at full resolution and
// scores it; ok is false when no face was found.
func score(eng *engine.Engine, d *liveness.Detector, path string) (r liveness.Result, ok bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return r, false, err
	}
	res, err := decode.Decode(b, decode.Options{})
	if err != nil {
		return r, false, err
	}
	dets, err := eng.Detect(res.Image)
	if err != nil || len(dets) == 0 {
		return r, false, err
	}
	r, err = d.Score(res.Image, dets[eng.Subject(dets)].Box)
	return r, err == nil, err
}

// The project's bona fide fixtures (portraits) are live at LOW, the
// loosest level, whether or not the optional models are present.
func TestFixturesAreLive(t *testing.T) {
	eng, l := open(t)
	cal, err := l.Detector.Calibration()
	require.NoError(t, err)
	for _, f := range []string{"obama.jpg", "obama2.jpg", "biden.jpg", "obama-240p.jpg", "two_people.jpg"} {
		r, ok, err := score(eng, l.Detector, testkit.Testdata(t, "faces", f))
		require.NoError(t, err, f)
		require.True(t, ok, f)
		lvl, live := cal.HighestLevel(r.Score)
		t.Logf("%s: score %.3f, highest level %s, models %v", f, r.Score, lvl, r.Models)
		assert.True(t, live, "%s should be live at LOW (score %.3f)", f, r.Score)
		assert.False(t, cal.IsSpoof(r.Score, liveness.Low), f)
		// They clear the default level too.
		assert.False(t, cal.IsSpoof(r.Score, liveness.DefaultLevel), f)
	}
}

// On the full-frame PAD data (../shared/data/pad, MSU-MFSD and NUAA), the
// figures docs/accuracy.md reports, with a small margin.
func TestPADFullFrames(t *testing.T) {
	root := testkit.Shared(t, "data", "pad")
	if _, err := os.Stat(filepath.Join(root, "labels.tsv")); err != nil {
		t.Skipf("liveness PAD data not found (%s): skipping; it lives in the project's shared folder", root)
	}
	eng, l := open(t)
	d := l.Detector
	if len(l.Missing) > 0 {
		t.Logf("optional models absent: %v", l.Missing)
	}
	rows, err := dataset.ReadTSV(filepath.Join(root, "labels.tsv"))
	require.NoError(t, err)
	byPath := map[string]map[string]string{}
	var paths []string
	for _, r := range rows {
		byPath[r["path"]] = r
		paths = append(paths, r["path"])
	}
	type out struct {
		res liveness.Result
		ok  bool
	}
	got := dataset.Map(context.Background(), paths, 0, func(p string) (out, error) {
		r, ok, err := score(eng, d, filepath.Join(root, p))
		return out{r, ok}, err
	}, nil)
	var all []liveness.Sample
	groups := map[string][]liveness.Sample{}
	for _, p := range paths {
		r := byPath[p]
		require.NoError(t, got[p].Err, p)
		o := got[p].Value
		s := liveness.Sample{Score: o.res.Score, Attack: r["label"] == "attack", Type: r["attack_type"], Group: r["group"], Failed: !o.ok}
		all = append(all, s)
		groups[s.Group] = append(groups[s.Group], s)
	}
	require.Len(t, all, 468)

	cal, err := d.Calibration()
	require.NoError(t, err)
	thr, err := cal.Threshold(liveness.DefaultLevel)
	require.NoError(t, err)
	rep := liveness.Evaluate(all, thr)
	t.Logf("pooled: AUC %.4f APCER %.4f (max %.4f) BPCER %.4f ACER %.4f BPCER@APCER1 %.4f @5 %.4f",
		rep.AUC, rep.APCER, rep.APCERMax, rep.BPCER, rep.ACER, rep.BPCERAtAPCER1, rep.BPCERAtAPCER5)
	assert.Zero(t, rep.FailedBonaFide+rep.FailedAttacks, "every frame has a face")
	assert.GreaterOrEqual(t, rep.AUC, 0.95, "issue floor")
	// Measured (docs/accuracy.md, threshold 0.750 calibrated on every
	// passive source): AUC 0.9982, APCER 2.59% (7 of 270: 5 of 18 MSU-MFSD
	// prints, 1 iPhone replay, 1 NUAA print), BPCER 0, BPCER@APCER1 6.1%,
	// @5 0.
	assert.GreaterOrEqual(t, rep.AUC, 0.997)
	assert.LessOrEqual(t, rep.APCER, 0.03)
	assert.LessOrEqual(t, rep.BPCER, 0.01)
	assert.LessOrEqual(t, rep.BPCERAtAPCER5, 0.01)
	assert.LessOrEqual(t, rep.BPCERAtAPCER1, 0.08)
	// Per group at the same threshold: MSU AUC 0.992, APCER 11.1%, BPCER 0;
	// NUAA AUC 0.9998, APCER 0.46%, BPCER 0.
	msu := liveness.Evaluate(groups["msu_mfsd"], thr)
	assert.GreaterOrEqual(t, msu.AUC, 0.99)
	assert.LessOrEqual(t, msu.APCER, 0.12)
	assert.LessOrEqual(t, msu.BPCER, 0.06)
	nuaa := liveness.Evaluate(groups["nuaa"], thr)
	assert.GreaterOrEqual(t, nuaa.AUC, 0.999)
	assert.LessOrEqual(t, nuaa.APCER, 0.01)
	assert.LessOrEqual(t, nuaa.BPCER, 0.01)
	// That the committed thresholds are reproduced from every passive
	// source: TestPassiveSourcesCalibrationAndLOSO.
}

// BenchmarkScore measures Detector.Score on a decoded portrait (face
// already found): fr_liveness on two crops and their mirrors, and the
// MiniFASNet pair when present.
func BenchmarkScore(b *testing.B) {
	cfg := enginetest.Config(b)
	eng, err := engine.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	l, err := liveness.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(testkit.Testdata(b, "faces", "obama2.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	res, err := decode.Decode(data, decode.Options{})
	if err != nil {
		b.Fatal(err)
	}
	dets, err := eng.Detect(res.Image)
	if err != nil || len(dets) == 0 {
		b.Fatal("no face")
	}
	box := dets[eng.Subject(dets)].Box
	for _, c := range []struct {
		name string
		d    *liveness.Detector
	}{{"all", l.Detector}, {"weighted", l.Detector.Weighted()}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := c.d.Score(res.Image, box); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
