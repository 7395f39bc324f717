package liveness

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/layers/models"
)

// handSet: 4 bona fide, 6 attacks of two types, one bona fide and one
// attack without a face.
func handSet() []Sample {
	return []Sample{
		{Score: 5, Type: "none", Group: "a"},
		{Score: 3, Type: "none", Group: "a"},
		{Score: 1, Type: "none", Group: "b"},
		{Failed: true, Type: "none", Group: "b"},
		{Score: 4, Attack: true, Type: "print", Group: "a"},
		{Score: 0, Attack: true, Type: "print", Group: "a"},
		{Score: -1, Attack: true, Type: "print", Group: "b"},
		{Score: 2, Attack: true, Type: "replay", Group: "b"},
		{Score: -3, Attack: true, Type: "replay", Group: "b"},
		{Failed: true, Attack: true, Type: "replay", Group: "b"},
	}
}

func TestRatesByHand(t *testing.T) {
	s := handSet()
	// Threshold 2.5: bona fide 5, 3 accepted; 1 and the failure rejected
	// -> BPCER 2/4. Attacks accepted: print 4 (1 of 3), replay none (0 of
	// 3) -> APCER 1/6 pooled, max 1/3.
	r := At(s, 2.5)
	assert.InDelta(t, 0.5, r.BPCER, 1e-12)
	assert.InDelta(t, 1.0/6, r.APCER, 1e-12)
	assert.InDelta(t, 1.0/3, r.APCERByType["print"], 1e-12)
	assert.InDelta(t, 0, r.APCERByType["replay"], 1e-12)
	assert.InDelta(t, 1.0/3, r.APCERMax, 1e-12)
	assert.InDelta(t, (1.0/6+0.5)/2, r.ACER, 1e-12)
	assert.InDelta(t, (1.0/3+0.5)/2, r.ACERMax, 1e-12)
	// The threshold itself is accepted (score >= threshold).
	r = At(s, 2)
	assert.InDelta(t, 2.0/6, r.APCER, 1e-12)
	// Below everything: every attack with a face accepted, only the failed
	// bona fide rejected.
	r = At(s, -10)
	assert.InDelta(t, 5.0/6, r.APCER, 1e-12)
	assert.InDelta(t, 0.25, r.BPCER, 1e-12)
}

func TestAUCByHand(t *testing.T) {
	s := handSet()
	// Bona fide values 5, 3, 1, -inf against attacks 4, 0, -1, 2, -3, -inf:
	// 5 beats 6; 3 beats 5; 1 beats 4 (0, -1, -3, -inf); -inf ties -inf
	// (1/2). (6 + 5 + 4 + 0.5) / 24.
	assert.InDelta(t, 15.5/24, AUC(s), 1e-12)
	assert.Equal(t, 0.0, AUC(s[:4]), "one class only")
	perfect := []Sample{{Score: 1}, {Score: 2}, {Score: 0, Attack: true}}
	assert.Equal(t, 1.0, AUC(perfect))
}

func TestThresholdAtAPCER(t *testing.T) {
	s := handSet()
	// 6 attacks: APCER 0 -> reject all; the highest attack is 4, next
	// higher score 5: threshold 4.5, BPCER 3/4.
	thr, ok := ThresholdAtAPCER(s, 0)
	require.True(t, ok)
	assert.Equal(t, 4.5, thr)
	assert.InDelta(t, 0.75, BPCERAtAPCER(s, 0), 1e-12)
	// APCER 1/6 allows one attack: reject 2 and below; next higher is 3.
	thr, _ = ThresholdAtAPCER(s, 1.0/6)
	assert.Equal(t, 2.5, thr)
	thr, _ = ThresholdAtAPCER(s, 0.2) // still one attack
	assert.Equal(t, 2.5, thr)
	// 2 of 6: reject 0 and below, next higher is 1.
	thr, _ = ThresholdAtAPCER(s, 2.0/6)
	assert.Equal(t, 0.5, thr)
	_, ok = ThresholdAtAPCER(s[:4], 0.1)
	assert.False(t, ok)
	// Ties with the rejected attack are rejected.
	tie := []Sample{{Score: 1}, {Score: 1, Attack: true}, {Score: 0, Attack: true}}
	thr, _ = ThresholdAtAPCER(tie, 0)
	assert.Greater(t, thr, 1.0)
	assert.Equal(t, 0.0, At(tie, thr).APCER)
	assert.Equal(t, 1.0, At(tie, thr).BPCER)
}

func TestEvaluateCountsFailures(t *testing.T) {
	r := Evaluate(handSet(), 2.5)
	assert.Equal(t, 4, r.BonaFide)
	assert.Equal(t, 6, r.Attacks)
	assert.Equal(t, 1, r.FailedBonaFide)
	assert.Equal(t, 1, r.FailedAttacks)
	assert.InDelta(t, 15.5/24, r.AUC, 1e-12)
	assert.InDelta(t, 0.75, r.BPCERAtAPCER1, 1e-12) // 1% of 6: no attack allowed
	assert.InDelta(t, 0.75, r.BPCERAtAPCER5, 1e-12)
	acer, thr := BestACER(handSet())
	assert.InDelta(t, At(handSet(), thr).ACER, acer, 1e-12)
	for _, t2 := range []float64{-4, -2, 0.5, 1.5, 2.5, 3.5, 4.5, 6} {
		assert.LessOrEqual(t, acer, At(handSet(), t2).ACER+1e-12)
	}
}

func randomSamples(r *rand.Rand, n int) []Sample {
	var s []Sample
	for i := 0; i < n; i++ {
		att := r.IntN(2) == 0
		mu := 3.0
		if att {
			mu = -2
		}
		s = append(s, Sample{Score: mu + 2.5*r.NormFloat64(), Attack: att, Type: fmt.Sprint("t", r.IntN(3)), Failed: r.IntN(50) == 0})
	}
	return s
}

func TestCalibrationLevelsAreMonotonic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		s := randomSamples(r, 300+trial*37)
		c, err := Calibrate(s, "f", "random")
		require.NoError(t, err)
		require.Len(t, c.Levels, len(Levels))
		for i, lt := range c.Levels {
			assert.Equal(t, Levels[i], lt.Level)
			assert.LessOrEqual(t, lt.APCER, TargetAPCER[lt.Level]+1e-9, "measured APCER within target")
			if i > 0 {
				prev := c.Levels[i-1]
				assert.GreaterOrEqual(t, lt.Threshold, prev.Threshold, "stricter level, higher threshold")
				assert.LessOrEqual(t, lt.APCER, prev.APCER)
				assert.GreaterOrEqual(t, lt.BPCER, prev.BPCER)
			}
		}
		// HighestLevel is consistent with IsSpoof at every level.
		for _, x := range []float64{-10, -1, 0, 0.5, 1, 2, 3, 5, 10} {
			hl, ok := c.HighestLevel(x)
			for _, l := range Levels {
				spoof := c.IsSpoof(x, l)
				if !ok {
					assert.True(t, spoof)
					continue
				}
				assert.Equal(t, l > hl, spoof, "score %g level %s highest %s", x, l, hl)
			}
		}
	}
}

func TestCalibrationAPI(t *testing.T) {
	c := &Calibration{Fusion: "f"}
	for i, l := range Levels {
		c.Levels = append(c.Levels, LevelThreshold{Level: l, TargetAPCER: TargetAPCER[l], Threshold: float64(i)})
	}
	require.NoError(t, c.validate())
	thr, err := c.Threshold(High)
	require.NoError(t, err)
	assert.Equal(t, 4.0, thr)
	_, err = c.Threshold(Level(42))
	assert.ErrorIs(t, err, ErrUnknownLevel)
	l, ok := c.HighestLevel(-0.1)
	assert.False(t, ok)
	assert.Equal(t, Level(0), l)
	l, ok = c.HighestLevel(0)
	assert.True(t, ok)
	assert.Equal(t, Low, l)
	l, _ = c.HighestLevel(5.5)
	assert.Equal(t, BalancedVeryHigh, l)
	l, _ = c.HighestLevel(100)
	assert.Equal(t, Highest, l)
	assert.False(t, c.IsSpoof(5, BalancedVeryHigh))
	assert.True(t, c.IsSpoof(4.99, BalancedVeryHigh))
	assert.True(t, c.IsSpoof(4.99, Level(0)), "invalid level means the default")
	assert.True(t, c.IsSpoof(math.NaN(), Low))

	// Non-monotonic files are refused.
	c.Levels[3].Threshold = 100
	assert.Error(t, c.validate())
	b := []byte(`{"version":1,"calibrations":[{"fusion":"f","levels":[{"level":"LOW","threshold":1}]}]}`)
	_, err = ParseCalibrations(b)
	assert.Error(t, err)
	_, err = ParseCalibrations([]byte(`{"version":2}`))
	assert.Error(t, err)
	_, err = Calibrate([]Sample{{Score: 1}}, "f", "x")
	assert.Error(t, err, "no attacks")
}

func TestCalibrationFileRoundTrip(t *testing.T) {
	s := randomSamples(rand.New(rand.NewPCG(3, 4)), 400)
	c, err := Calibrate(s, "f@1", "random")
	require.NoError(t, err)
	f := &CalibrationFile{Version: 1, Calibrations: []*Calibration{c}}
	path := t.TempDir() + "/levels.json"
	require.NoError(t, f.Save(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	back, err := ParseCalibrations(b)
	require.NoError(t, err)
	assert.Equal(t, c, back.For("f@1"))
	assert.Nil(t, back.For("other"))
}

func TestEmbeddedCalibrationIsValid(t *testing.T) {
	f, err := Embedded()
	require.NoError(t, err)
	require.NotEmpty(t, f.Calibrations, "run facelambda calibrate liveness")
	for _, c := range f.Calibrations {
		assert.NotEmpty(t, c.Data)
		assert.Greater(t, c.Attacks, 0)
		assert.Greater(t, c.BonaFide, 0)
	}
	// The manifest's fusion (models and terms) has a calibration.
	ms, err := ManifestModels(models.Manifest)
	require.NoError(t, err)
	var scorers []*Scorer
	for _, m := range ms {
		s, err := NewScorer(*m.Spec, &fakeModel{size: m.Spec.Size})
		require.NoError(t, err)
		scorers = append(scorers, s)
	}
	terms, err := ManifestTerms(models.Manifest)
	require.NoError(t, err)
	d, err := NewFused(terms, scorers...)
	require.NoError(t, err)
	_, err = d.Calibration()
	require.NoError(t, err, "the committed levels file must cover the manifest's fusion %s", d.Fusion())
	// And so does the fusion that runs without the optional models.
	var optional []string
	for _, m := range ms {
		if m.Optional {
			optional = append(optional, m.Name)
		}
	}
	fb, err := d.Without(optional...)
	require.NoError(t, err)
	_, err = fb.Calibration()
	require.NoError(t, err, "fallback fusion %s", fb.Fusion())
}

func TestThresholdAtBalancedAPCER(t *testing.T) {
	// Source A: 100 easy attacks at -10; source B: 4 hard attacks at 1..4;
	// bona fide at 5. Pooled, 2% of 104 attacks allows 2 to pass (the two
	// hardest of B, threshold between 2 and 3); balanced, each source
	// weighs one half, so one attack of B is 12.5% and none may pass at 2%.
	var s []Sample
	for i := 0; i < 100; i++ {
		s = append(s, Sample{Score: -10, Attack: true, Type: "print", Group: "A"})
	}
	for i := 1; i <= 4; i++ {
		s = append(s, Sample{Score: float64(i), Attack: true, Type: "replay", Group: "B"})
	}
	s = append(s, Sample{Score: 5, Group: "A"}, Sample{Score: 5, Group: "B"})
	pooled, ok := ThresholdAtAPCER(s, 0.02)
	require.True(t, ok)
	assert.InDelta(t, 2.5, pooled, 1e-9)
	bal, ok := ThresholdAtBalancedAPCER(s, 0.02)
	require.True(t, ok)
	assert.InDelta(t, 4.5, bal, 1e-9)
	assert.Zero(t, At(s, bal).APCER)
	// At 15% one attack of B (12.5%) may pass.
	bal, _ = ThresholdAtBalancedAPCER(s, 0.15)
	assert.InDelta(t, 3.5, bal, 1e-9)
	_, ok = ThresholdAtBalancedAPCER([]Sample{{Score: 1}}, 0.1)
	assert.False(t, ok)
}
