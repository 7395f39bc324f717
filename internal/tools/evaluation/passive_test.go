package evaluation

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/liveness"
)

func TestFitLogitRecoversTheDirection(t *testing.T) {
	// y depends on x0 only (through a logistic link); x1 is noise.
	r := rand.New(rand.NewPCG(1, 2))
	var x [][]float64
	var y, w []float64
	for i := 0; i < 4000; i++ {
		a, b := r.NormFloat64()*2, r.NormFloat64()*5
		p := 1 / (1 + math.Exp(-(1.5*a - 1)))
		v := 0.0
		if r.Float64() < p {
			v = 1
		}
		x = append(x, []float64{a, b})
		y = append(y, v)
		w = append(w, 1)
	}
	l, err := fitLogit([]string{"a", "b"}, x, y, w, 1e-6)
	require.NoError(t, err)
	assert.InDelta(t, 1.5, l.W[0], 0.15)
	assert.InDelta(t, 0, l.W[1], 0.05)
	assert.InDelta(t, -1, l.Bias, 0.15)
	assert.InDelta(t, 1.5*2-1, l.score(map[string]float64{"a": 2, "b": 7}), 0.6)
	_, err = fitLogit(nil, nil, nil, nil, 0)
	assert.Error(t, err)
}

func TestParsePresentedFaces(t *testing.T) {
	good := "# comment\nclip\tfirst_frame\tlast_frame\tx0\ty0\tx1\ty1\tnote\nzb_fake\t1\t15\t0.55\t0\t1\t0.7\tat the right\n"
	p, err := ParsePresentedFaces(strings.NewReader(good))
	require.NoError(t, err)
	reg, ok := p.At("zb_fake", 15)
	require.True(t, ok)
	assert.InDelta(t, 0.45, reg.W, 1e-9)
	_, ok = p.At("zb_fake", 16)
	assert.False(t, ok)
	for name, bad := range map[string]string{
		"no header":       "zb_fake\t1\t15\t0\t0\t1\t1\n",
		"bad frame":       "clip\tfirst_frame\tlast_frame\tx0\ty0\tx1\ty1\nzb\t0\t15\t0\t0\t1\t1\n",
		"fraction over 1": "clip\tfirst_frame\tlast_frame\tx0\ty0\tx1\ty1\nzb\t1\t15\t0\t0\t1.5\t1\n",
		"empty region":    "clip\tfirst_frame\tlast_frame\tx0\ty0\tx1\ty1\nzb\t1\t15\t0.5\t0\t0.5\t1\n",
		"short row":       "clip\tfirst_frame\tlast_frame\tx0\ty0\tx1\ty1\nzb\t1\t15\n",
	} {
		_, err := ParsePresentedFaces(strings.NewReader(bad))
		assert.Error(t, err, name)
	}
	// The committed file parses and covers the attack clips.
	f, err := os.Open(filepath.Join("testdata", "active", "passive.tsv"))
	require.NoError(t, err)
	defer f.Close()
	p, err = ParsePresentedFaces(f)
	require.NoError(t, err)
	assert.Contains(t, p, "zb_fake")
	assert.Contains(t, p, "ls_fake")
}

func TestPresentedFaceIsTheOneInTheRegion(t *testing.T) {
	dets := []geometry.Box{{X: 100, Y: 100, W: 300, H: 300}, {X: 700, Y: 50, W: 100, H: 120}}
	region := &geometry.Box{X: 0.55, Y: 0, W: 0.45, H: 0.7}
	got, ok := pickInRegion(1000, 500, dets, region)
	require.True(t, ok)
	assert.Equal(t, dets[1], got, "the small replayed face at the right, not the larger real one")
	_, ok = pickInRegion(1000, 500, dets[:1], region)
	assert.False(t, ok)
}

func TestCoarseType(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"attack", "print(photo)"}:  "print",
		{"attack", "replay_iphone"}: "replay",
		{"attack", "screen"}:        "replay",
		{"attack", "3d_mask"}:       "mask",
		{"bonafide", "none"}:        "none",
	} {
		assert.Equal(t, want, coarseType(in[0], in[1]), in)
	}
}

// passiveSet builds samples of two features: "m" separates bona fide (2)
// from attacks (-2) in every source, but source "shifted" has every score
// moved down by shift.
func passiveSet(shift float64) []PassiveSample {
	r := rand.New(rand.NewPCG(3, 4))
	var out []PassiveSample
	for _, src := range []string{"a", "b", "c", "shifted"} {
		off := 0.0
		if src == "shifted" {
			off = -shift
		}
		for i := 0; i < 200; i++ {
			attack := i%2 == 1
			v := 2.0
			typ := "none"
			if attack {
				v, typ = -2, "replay"
			}
			out = append(out, PassiveSample{PassiveItem: PassiveItem{Source: src, Path: src + string(rune('a'+i%26)) + strings.Repeat("x", i), Attack: attack, Type: typ},
				F: map[string]float64{"m": v + off + r.NormFloat64()*0.5}})
		}
	}
	return out
}

func TestPassiveLOSOHoldsEachSourceOut(t *testing.T) {
	fus := []PassiveFusion{{Name: "m", Feats: []string{"m"}, Fixed: []float64{1}}, {Name: "lr m", Feats: []string{"m"}}}
	res, err := PassiveLOSO(passiveSet(0), LOSOConfig{Level: liveness.DefaultLevel, Rules: []string{RulePooled}, Fusions: fus, Lambda: 0.01, Detailed: "m"})
	require.NoError(t, err)
	require.Len(t, res.Fusions, 2)
	require.Len(t, res.Sources, 4)
	f := res.Fusions[0]
	assert.Equal(t, 400, f.Pooled.BPCER.N)
	assert.Less(t, f.Pooled.BPCER.Rate, 0.02)
	assert.LessOrEqual(t, f.Pooled.APCER["replay"].Rate, 0.03)
	assert.Len(t, f.Levels, len(liveness.Levels))

	// A source whose bona fide score 3 lower is rejected when held out:
	// the other sources' thresholds do not transfer to it.
	res, err = PassiveLOSO(passiveSet(3), LOSOConfig{Level: liveness.DefaultLevel, Rules: []string{RulePooled, RuleBalanced}, Fusions: fus[:1], Lambda: 0.01})
	require.NoError(t, err)
	for _, f := range res.Fusions {
		var shifted SourceAt
		for _, h := range f.HeldOut {
			if h.Source == "shifted" {
				shifted = h
			}
		}
		assert.Greater(t, shifted.BPCER.Rate, 0.5, f.Rule)
		assert.Equal(t, 100, shifted.BPCER.N)
		assert.Less(t, shifted.BPCER.Lo, shifted.BPCER.Rate)
	}
	_, err = PassiveLOSO(passiveSet(0), LOSOConfig{Level: liveness.DefaultLevel, Rules: []string{"median"}, Fusions: fus[:1]})
	assert.Error(t, err, "unknown rule")
}

func TestRuntimeScoreFollowsTheManifestSpecs(t *testing.T) {
	mk := func(name string, size int, w float64, flip bool, crops ...liveness.Crop) *liveness.Scorer {
		s, err := liveness.NewScorer(liveness.Spec{Name: name, Size: size, Crops: crops, Channels: "BGR", Weight: w, Flip: flip}, nopModel{})
		require.NoError(t, err)
		return s
	}
	box := liveness.Crop{Scale: 2.7, Mode: liveness.CropShift}
	sq := liveness.Crop{Scale: 2.7, Square: true, Mode: liveness.CropShift}
	d, err := liveness.NewFused(liveness.Terms{Cues: []liveness.CueWeight{{Name: liveness.CueContrast, Weight: -2}}, Offset: 1},
		mk("liveness", 128, 3, true, box, sq), mk("minifasnet-v2", 80, 1, false, box))
	require.NoError(t, err)
	f := map[string]float64{FeatFRBox: 1, FeatFRBoxM: 2, FeatFRSquare: 3, FeatFRSquareM: 4, FeatMFV2: 6, FeatMFV2M: 100, liveness.CueContrast: 0.5}
	got, err := RuntimeScore(d, f)
	require.NoError(t, err)
	// (3 * 2.5 + 1 * 6) / 4 + 1 - 2 * 0.5
	assert.InDelta(t, (3*2.5+6)/4.0+1-1, got, 1e-12)
	d2, err := liveness.New(mk("liveness", 128, 1, false, liveness.Crop{Scale: 2.2}))
	require.NoError(t, err)
	_, err = RuntimeScore(d2, f)
	assert.ErrorContains(t, err, "no reading")
}

type nopModel struct{}

func (nopModel) Run([]float32) ([][]float32, error) { return [][]float32{{0, 0, 0}}, nil }
