package face

import (
	"math"

	"github.com/facelambda/facelambda/internal/ml/geometry"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// The detector fires on faces turned 90 or 180 degrees (scores of 0.8 to
// 1.0 on turned LFW faces and the fixtures), and the landmark model draws an
// upright face shape on them (roll within a few degrees), so neither the box
// nor the landmark geometry says whether a face is upright. Three cues do,
// measured on 762 LFW faces and their three quarter turns (docs/accuracy.md):
//
//   - the embedding's norm before normalisation: the encoder answers a face
//     it recognises with a long vector (median 3.7 upright, 2.0 turned);
//   - landmark drift: how far the 68 landmarks move, in units of the shift,
//     when the crop they are found in is shifted by a tenth of the face. On
//     a face the landmark model recognises they stay put (0.16 to 0.50); on
//     a turned one they follow the crop (0.35 to 1.7);
//   - the smaller eye-open probability: the eye crops of a turned face are
//     on the mouth or the brows, which the eye model calls closed.
//
// Upright = norm + 0.5*min(eyes open) - 2*drift. Drift costs four more
// landmark runs (2 to 10 ms a face), so it is measured only when the first
// two terms are below uprightPlain; without it the measure is higher, which
// can only keep a face that is upright anyway in the orientation given or
// favour one such orientation in the search.

// UprightSure is the Upright measure above which a face is taken as upright
// without looking at the other orientations: above every turned face
// measured (the highest was 2.45) while 96% of upright LFW faces clear it.
const UprightSure = 2.6

// UprightMargin is how much higher a face must measure in another
// orientation than in the one given for that orientation to be the upright
// one: no upright LFW face measured 0.3 or more below one of its own turns.
const UprightMargin = 0.3

// UprightFloor is the least an orientation must measure to be taken as the
// upright one of a face measuring less in the orientation given: turned
// faces of strongly posed heads (yaw 50, pitch 25 degrees) can measure a
// little higher than the upright one, all of them below 1 (LFW), while the
// upright versions of turned faces measure 1.5 or more but for 3 in 1893.
const UprightFloor = 1.5

// uprightPlain is the norm + 0.5*min(eyes open) at or above which a face is
// upright without measuring drift: 0.4 above every turned LFW face (the
// highest was 3.41); 76% of upright LFW faces reach it.
const uprightPlain = 3.8

// driftShift is the crop shift, as a fraction of the face side, of the
// landmark drift measure.
const driftShift = 0.1

// upright computes f.Quality.Upright; norm is the embedding's norm before
// normalisation.
func (e *Engine) upright(img *raster.RGB, f *Face, norm float64) error {
	u := norm
	if q := f.Quality; q.LeftEyeOpen >= 0 {
		u += 0.5 * math.Min(q.LeftEyeOpen, q.RightEyeOpen)
	}
	if u < uprightPlain {
		d, err := e.landmarkDrift(img, f)
		if err != nil {
			return err
		}
		u -= 2 * d
	}
	f.Quality.Upright = u
	return nil
}

// landmarkDrift is the mean distance the landmarks move when the crop they
// are found in is shifted by driftShift of the face side in each of the
// four directions, divided by the shift.
func (e *Engine) landmarkDrift(img *raster.RGB, f *Face) (float64, error) {
	step := driftShift * math.Sqrt(f.Box.W*f.Box.H)
	var sum float64
	for _, dir := range [4][2]float64{{1, 0}, {0, 1}, {-1, 0}, {0, -1}} {
		g := &Face{Detection: f.Detection}
		g.Box.X += dir[0] * step
		g.Box.Y += dir[1] * step
		if err := e.landmarks(img, g); err != nil {
			return 0, err
		}
		for i := range g.Landmarks {
			sum += geometry.Dist(g.Landmarks[i], f.Landmarks[i])
		}
	}
	return sum / (4 * float64(len(f.Landmarks)) * step), nil
}

// l2 is the Euclidean norm of v.
func l2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
