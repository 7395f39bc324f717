package challenge

import (
	"math"
	"slices"
	"sort"
)

// maxPlanarCandidates is how many frames the planarity test takes when no
// pose step was met.
const maxPlanarCandidates = 3

// planarity tests the best frame's landmarks against the peak frame of each
// pose step met or, failing those, against the frames furthest from a
// similarity of them (moved at least Config.PlanarStillMotion when no head
// move was asked).
func planarity(obs []Observation, c []cues, best int, actions []Action, steps []Step, cfg Config) Planarity {
	var p Planarity
	if best < 0 {
		return p
	}
	ref := obs[best].Landmarks
	var frames []int
	for _, s := range steps {
		if s.Met && s.Action.pose() && s.Peak >= 0 && s.Peak != best && !slices.Contains(frames, s.Peak) {
			frames = append(frames, s.Peak)
		}
	}
	if len(frames) == 0 {
		type cand struct {
			i   int
			res float64
		}
		var cands []cand
		for i := range obs {
			if i == best || !c[i].face {
				continue
			}
			if r, _, ok := similarityResidual(ref, obs[i].Landmarks); ok {
				cands = append(cands, cand{i, r})
			}
		}
		sort.SliceStable(cands, func(a, b int) bool { return cands[a].res > cands[b].res })
		for j := 0; j < len(cands) && j < maxPlanarCandidates; j++ {
			frames = append(frames, cands[j].i)
		}
	}
	floor := cfg.PlanarMinMotion
	if !hasPose(actions) {
		floor = max(floor, cfg.PlanarStillMotion)
	}
	planar := true
	for _, i := range frames {
		sim, hom, ok := PlanarResiduals(ref, obs[i].Landmarks)
		if !ok || sim < floor {
			continue
		}
		p.Pairs++
		p.Frames = append(p.Frames, i)
		p.Similarity = math.Max(p.Similarity, sim)
		p.Homography = math.Max(p.Homography, hom)
		if !(hom <= cfg.PlanarMaxResidual) {
			planar = false
		}
	}
	p.Planar = p.Pairs > 0 && planar
	return p
}
