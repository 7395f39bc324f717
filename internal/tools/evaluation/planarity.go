package evaluation

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/tools/dataset"
)

// PlanarityResult is the JSON report of `eval planarity`.
type PlanarityResult struct {
	Identities int `json:"identities"`
	// Real pairs: the most frontal photo of an identity against its other
	// photos with the head turned (|yaw| >= 15 or |pitch| >= 10): real 3D
	// pose changes (also expression and time: an easier case than one
	// capture's frames).
	Real PlanarityFigures `json:"real"`
	// Attack pairs: the frontal photo against itself turned as a plane
	// (yaw +-25, +-40, pitch +-25 degrees, camera 2.5 picture widths away).
	Attack PlanarityFigures `json:"attack"`
	// MinMotion is the similarity residual from which a pair is tested.
	MinMotion float64 `json:"min_motion"`
	// Thresholds on the homography residual: the share of attack pairs
	// caught (residual <= threshold) when at most 1% / 5% of the real
	// pairs are called planar.
	ThresholdAtReal1 float64 `json:"threshold_at_real_1"`
	CaughtAtReal1    float64 `json:"attacks_caught_at_real_1"`
	ThresholdAtReal5 float64 `json:"threshold_at_real_5"`
	CaughtAtReal5    float64 `json:"attacks_caught_at_real_5"`
	// At the configured threshold.
	Configured       float64 `json:"configured_threshold"`
	CaughtConfigured float64 `json:"attacks_caught_at_configured"`
	RealConfigured   float64 `json:"real_called_planar_at_configured"`
}

// PlanarityFigures summarise one kind of pair.
type PlanarityFigures struct {
	Pairs int `json:"pairs"`
	// Tested pairs moved enough (similarity residual >= min motion).
	Tested int `json:"tested"`
	// Quantiles (5, 25, 50, 75, 95%) of the homography residual of the
	// tested pairs, in inter-eye distances.
	Homography []float64 `json:"homography_quantiles"`
	Similarity []float64 `json:"similarity_quantiles"`
}

type planarPair struct{ sim, hom float64 }

// Planarity measures, for the first maxIDs identities under root with
// three or more photos, the planar motion test on real head poses (the
// frontal photo against the identity's turned ones) and on the frontal
// photo turned as a plane. Progress goes to log.
func Planarity(ctx context.Context, svc *biometric.Service, root string, maxIDs int, log io.Writer) (*PlanarityResult, error) {
	use, byID, err := identityPhotos(root, 3, maxIDs)
	if err != nil {
		return nil, err
	}
	cfg := challenge.DefaultConfig()
	var mu sync.Mutex
	var real, attack []planarPair
	done := 0
	dataset.Map(ctx, use, 0, func(id string) (struct{}, error) {
		r, a := planarityOf(svc, byID[id])
		mu.Lock()
		real, attack = append(real, r...), append(attack, a...)
		done++
		if done%50 == 0 {
			fmt.Fprintf(log, "planarity: %d/%d identities\n", done, len(use))
		}
		mu.Unlock()
		return struct{}{}, nil
	}, nil)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &PlanarityResult{Identities: len(use), MinMotion: cfg.PlanarMinMotion, Configured: cfg.PlanarMaxResidual}
	_, realHom := figures(real, cfg.PlanarMinMotion, &res.Real)
	_, attackHom := figures(attack, cfg.PlanarMinMotion, &res.Attack)
	caught := func(thr float64) float64 { return fraction(attackHom, thr) }
	res.ThresholdAtReal1 = quantile(realHom, 0.01)
	res.CaughtAtReal1 = caught(res.ThresholdAtReal1)
	res.ThresholdAtReal5 = quantile(realHom, 0.05)
	res.CaughtAtReal5 = caught(res.ThresholdAtReal5)
	res.CaughtConfigured = caught(cfg.PlanarMaxResidual)
	res.RealConfigured = fraction(realHom, cfg.PlanarMaxResidual)
	return res, nil
}

// planarityOf measures one identity's pairs.
func planarityOf(svc *biometric.Service, paths []string) (real, attack []planarPair) {
	photos := observePhotos(svc, paths)
	if len(photos) < 2 {
		return nil, nil
	}
	ref := 0
	off := func(o challenge.Observation) float64 { return math.Abs(o.Yaw) + math.Abs(o.Pitch) }
	for i, p := range photos {
		if p.obs.PoseAvailable && off(p.obs) < off(photos[ref].obs) {
			ref = i
		}
	}
	r := photos[ref]
	if off(r.obs) > 10 {
		return nil, nil
	}
	for i, p := range photos {
		if i == ref || !(math.Abs(p.obs.Yaw) >= 15 || math.Abs(p.obs.Pitch) >= 10) {
			continue
		}
		if s, h, ok := challenge.PlanarResiduals(r.obs.Landmarks, p.obs.Landmarks); ok {
			real = append(real, planarPair{s, h})
		}
	}
	dec, err := decode.Decode(r.img, decode.Options{})
	if err != nil {
		return real, nil
	}
	for _, pose := range [][2]float64{{25, 0}, {-25, 0}, {40, 0}, {-40, 0}, {0, 25}, {0, -25}} {
		o, ok := observeTurned(svc, dec.Image, pose[0], pose[1])
		if !ok {
			continue
		}
		if s, h, ok := challenge.PlanarResiduals(r.obs.Landmarks, o.Landmarks); ok {
			attack = append(attack, planarPair{s, h})
		}
	}
	return real, attack
}

// figures fills f and returns the tested pairs and their homography
// residuals, sorted.
func figures(pairs []planarPair, minMotion float64, f *PlanarityFigures) (int, []float64) {
	f.Pairs = len(pairs)
	var hom, sim []float64
	for _, p := range pairs {
		if p.sim >= minMotion {
			hom = append(hom, p.hom)
			sim = append(sim, p.sim)
		}
	}
	sort.Float64s(hom)
	sort.Float64s(sim)
	f.Tested = len(hom)
	for _, q := range []float64{0.05, 0.25, 0.5, 0.75, 0.95} {
		f.Homography = append(f.Homography, math.Round(quantile(hom, q)*1e4)/1e4)
		f.Similarity = append(f.Similarity, math.Round(quantile(sim, q)*1e4)/1e4)
	}
	return len(hom), hom
}

// quantile of sorted values (0 when empty).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Floor(q * float64(len(sorted)-1)))
	return sorted[i]
}

// fraction of sorted values <= thr.
func fraction(sorted []float64, thr float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sort.Search(len(sorted), func(i int) bool { return sorted[i] > thr })) / float64(len(sorted))
}
