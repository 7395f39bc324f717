// Package calibration maps the cosine similarity of two face embeddings to a
// false-acceptance rate (FAR), the fraction of different-person (impostor)
// pairs that score at least as high, and derives from it the scores and
// security levels reported by the API.
//
// A [Table] is built once per encoder from the cosine scores of a large set
// of impostor pairs ([Build]) and shipped as JSON ([Table.Save], [Load]).
// Where the sample is too small to measure a FAR, the table extrapolates the
// impostor tail log-linearly (see [Build]), so that [Table.FAR] is positive
// and non-increasing over the whole cosine range.
package calibration

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

const (
	// MinFAR is the smallest FAR a table extrapolates to and that [Score]
	// and [Kind.SimilarityScore] distinguish.
	MinFAR = 1e-12

	// MinImpostors is the smallest impostor sample [Build] accepts.
	MinImpostors = 1000

	// minTail is the number of impostors that must score above a cosine for
	// its empirical FAR to be trusted. On LFW the last few dozen
	// cross-identity pairs (cosine above 0.55, FAR below 2e-6) are label
	// noise: the same person filed under two names. With 10, they bent the
	// 1e-6 working point from cosine 0.55 to 0.75; with 100 the tail is
	// extrapolated from clean data instead (docs/accuracy.md).
	minTail = 100
	// pointsPerDecade is the density of the FAR grid.
	pointsPerDecade = 10
	// fitDecades is how many decades of the reliable tail the extrapolation
	// line is fitted to.
	fitDecades = 2
)

// Point is one calibration point: impostor pairs with cosine >= Cosine
// occur at rate FAR.
type Point struct {
	Cosine float64 `json:"cosine"`
	FAR    float64 `json:"far"`
	// Extrapolated marks points beyond the measured impostor tail.
	Extrapolated bool `json:"extrapolated,omitempty"`
}

// Table maps cosine similarity to FAR for one encoder. Points are sorted
// by Cosine, strictly ascending, with FAR strictly decreasing.
type Table struct {
	Encoder   string  `json:"encoder"`
	Source    string  `json:"source"`         // data set the impostor pairs came from
	Impostors int64   `json:"impostor_pairs"` // number of impostor pairs measured
	Created   string  `json:"created"`        // RFC 3339 time of [Build]
	Points    []Point `json:"points"`
}

// Build derives a table from the cosine scores of impostor (cross-identity)
// pairs; the slice is not modified. It needs at least [MinImpostors] finite
// scores.
//
// Measured points are placed where the empirical FAR, the fraction of
// impostors with a score >= c, equals each value of a log grid (0.5, then
// 10 points per decade: 10^-0.4, 10^-0.5, ...) down to the smallest FAR the
// sample resolves, minTail/len(impostors): below that fewer than minTail
// (100) impostors are left in the tail. Beyond, a line fitted by least squares to log10(FAR)
// against cosine over the last two decades of measured points is continued
// from the last measured point, with the same grid, down to [MinFAR] or to
// cosine 1, whichever comes first; these points are marked Extrapolated.
// An exponential tail is heavier than the Gaussian-like tails of cosine
// impostor distributions, so the extrapolation errs towards overstating FAR.
func Build(impostors []float32, encoder, source string) (*Table, error) {
	n := len(impostors)
	if n < MinImpostors {
		return nil, fmt.Errorf("calibration: %d impostor scores, need at least %d", n, MinImpostors)
	}
	s := slices.Clone(impostors)
	slices.Sort(s)
	if v := s[0]; math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) { // NaN sorts first
		return nil, fmt.Errorf("calibration: impostor scores contain %v", v)
	}
	if v := s[n-1]; math.IsInf(float64(v), 0) {
		return nil, fmt.Errorf("calibration: impostor scores contain %v", v)
	}

	minFAR := float64(minTail) / float64(n)
	var pts []Point
	add := func(p Point) {
		if len(pts) > 0 {
			last := pts[len(pts)-1]
			// Tied scores can map two FARs to one cosine: keep the larger
			// FAR, the true one at that cosine.
			if !(p.Cosine > last.Cosine) || !(p.FAR < last.FAR) {
				return
			}
		}
		pts = append(pts, p)
	}
	for i := 0; ; i++ {
		far := gridFAR(i)
		if far < minFAR {
			break
		}
		add(Point{Cosine: quantileAbove(s, far), FAR: far})
	}
	if len(pts) < 2 {
		return nil, fmt.Errorf("calibration: impostor scores are too concentrated to calibrate (%d distinct points)", len(pts))
	}

	// Fit log10(FAR) = a + b*cosine over the last fitDecades decades.
	last := pts[len(pts)-1]
	lo := len(pts) - 1
	for lo > 0 && pts[lo-1].FAR <= last.FAR*math.Pow(10, fitDecades)*(1+1e-9) {
		lo--
	}
	slope := fitSlope(pts[lo:])
	if !(slope < 0) || math.IsInf(slope, 0) {
		return nil, fmt.Errorf("calibration: cannot fit the impostor tail (slope %v)", slope)
	}
	logLast := math.Log10(last.FAR)
	for i := 0; ; i++ {
		far := gridFAR(i)
		if far >= last.FAR*(1-1e-9) {
			continue
		}
		if far < MinFAR*(1-1e-9) {
			break
		}
		c := last.Cosine + (math.Log10(far)-logLast)/slope
		if c > 1 {
			if lp := pts[len(pts)-1]; lp.Cosine < 1 {
				add(Point{Cosine: 1, FAR: math.Pow(10, logLast+slope*(1-last.Cosine)), Extrapolated: true})
			}
			break
		}
		add(Point{Cosine: c, FAR: far, Extrapolated: true})
	}

	t := &Table{
		Encoder:   encoder,
		Source:    source,
		Impostors: int64(n),
		Created:   time.Now().UTC().Format(time.RFC3339),
		Points:    pts,
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// gridFAR returns the i-th FAR of the calibration grid: 0.5, then
// 10^(-k/pointsPerDecade) for k = 4, 5, ... (0.398, 0.316, ..., 0.1, ...).
func gridFAR(i int) float64 {
	if i == 0 {
		return 0.5
	}
	k := i + 3 // 10^-0.3 ≈ 0.501 is replaced by 0.5
	if k%pointsPerDecade == 0 {
		return math.Pow(10, -float64(k/pointsPerDecade)) // exact decades
	}
	return math.Pow(10, -float64(k)/pointsPerDecade)
}

// quantileAbove returns the cosine above which a fraction far of the sorted
// scores s lie: the score of (fractional) rank far*len(s) counted from the
// top, interpolated linearly between neighbouring scores.
func quantileAbove(s []float32, far float64) float64 {
	n := len(s)
	q := float64(n) - far*float64(n) // position in ascending order
	q = min(max(q, 0), float64(n-1))
	i := int(q)
	if i >= n-1 {
		return float64(s[n-1])
	}
	f := q - float64(i)
	return float64(s[i]) + f*(float64(s[i+1])-float64(s[i]))
}

// fitSlope returns the least-squares slope of log10(FAR) against cosine.
func fitSlope(pts []Point) float64 {
	if len(pts) < 2 {
		return math.NaN()
	}
	var mx, my float64
	for _, p := range pts {
		mx += p.Cosine
		my += math.Log10(p.FAR)
	}
	mx /= float64(len(pts))
	my /= float64(len(pts))
	var sxy, sxx float64
	for _, p := range pts {
		dx := p.Cosine - mx
		sxy += dx * (math.Log10(p.FAR) - my)
		sxx += dx * dx
	}
	return sxy / sxx
}

// FAR returns the false-acceptance rate at a cosine similarity. It is
// non-increasing in cosine: log10(FAR) is interpolated linearly between
// points; below the first point the first segment is continued, capped at
// 1; above the last point FAR is the last point's. A NaN cosine gives 1.
func (t *Table) FAR(cosine float64) float64 {
	p := t.Points
	if len(p) == 0 || math.IsNaN(cosine) {
		return 1
	}
	if cosine >= p[len(p)-1].Cosine {
		return p[len(p)-1].FAR
	}
	if len(p) == 1 {
		return 1
	}
	// First i with p[i].Cosine > cosine; interpolate on segment [i-1, i].
	i := sort.Search(len(p), func(i int) bool { return p[i].Cosine > cosine })
	if i == 0 {
		i = 1 // below the first point: continue the first segment
	}
	a, b := p[i-1], p[i]
	la, lb := math.Log10(a.FAR), math.Log10(b.FAR)
	l := la + (cosine-a.Cosine)/(b.Cosine-a.Cosine)*(lb-la)
	return min(math.Pow(10, l), 1)
}

// Validate checks that t has at least two points, with finite cosines
// strictly ascending and FARs in (0, 1] strictly decreasing.
func (t *Table) Validate() error {
	if len(t.Points) < 2 {
		return fmt.Errorf("calibration: table has %d points, need at least 2", len(t.Points))
	}
	for i, p := range t.Points {
		if math.IsNaN(p.Cosine) || math.IsInf(p.Cosine, 0) {
			return fmt.Errorf("calibration: point %d: cosine %v is not finite", i, p.Cosine)
		}
		if !(p.FAR > 0 && p.FAR <= 1) {
			return fmt.Errorf("calibration: point %d: FAR %v is outside (0, 1]", i, p.FAR)
		}
		if i == 0 {
			continue
		}
		q := t.Points[i-1]
		if !(p.Cosine > q.Cosine) {
			return fmt.Errorf("calibration: point %d: cosine %v does not increase over point %d (cosine %v); points must be sorted by strictly ascending cosine",
				i, p.Cosine, i-1, q.Cosine)
		}
		if !(p.FAR < q.FAR) {
			return fmt.Errorf("calibration: point %d: FAR %v does not decrease from point %d (FAR %v); FAR must fall strictly as cosine rises",
				i, p.FAR, i-1, q.FAR)
		}
	}
	return nil
}

// Parse decodes a JSON table and validates it (see [Table.Validate]).
func Parse(b []byte) (*Table, error) {
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("calibration: invalid table JSON: %w", err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// Load reads and parses the JSON table at path.
func Load(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return t, nil
}

// Save validates t and writes it to path as indented JSON. The file is
// written to a temporary file in the same directory and renamed into place.
func (t *Table) Save(path string) (err error) {
	if err := t.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	b = append(b, '\n')
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	_, err = f.Write(b)
	err = errors.Join(err, f.Chmod(0o644), f.Close())
	if err != nil {
		return fmt.Errorf("calibration: writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("calibration: %w", err)
	}
	return nil
}

// Score maps a FAR to the API's match score, 1500 + 500*(-log10 FAR): FAR
// 1% gives 2500, 0.1% 3000, 1e-6 4500. FAR is clamped to [MinFAR, 1] (a
// NaN FAR counts as 1), and the result is rounded to 6 decimal places.
func Score(far float64) float64 {
	if math.IsNaN(far) {
		far = 1
	}
	far = min(max(far, MinFAR), 1)
	s := 1500 + 500*(-math.Log10(far))
	return math.Round(s*1e6) / 1e6
}

// CosineAt inverts the table: the lowest cosine whose FAR is at most far
// (by bisection over [-1, 1]; FAR is monotone in cosine).
func (t *Table) CosineAt(far float64) float64 {
	lo, hi := -1.0, 1.0
	for i := 0; i < 60; i++ {
		mid := (lo + hi) / 2
		if t.FAR(mid) > far {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
