package calibration

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Level is a security level: a bound on the FAR a match may have.
type Level string

// Security levels, from the most lenient to the strictest.
const (
	Medium   Level = "MEDIUM"
	High     Level = "HIGH"
	VeryHigh Level = "VERY_HIGH"
	Highest  Level = "HIGHEST"
)

var levels = [...]Level{Medium, High, VeryHigh, Highest}

// Levels returns the security levels from the most lenient to the strictest.
func Levels() []Level { return append([]Level(nil), levels[:]...) }

// ErrUnknownLevel is wrapped by the error [ParseLevel] returns.
var ErrUnknownLevel = errors.New("unknown security level")

// ParseLevel returns the level named s, ignoring case and surrounding
// space; "-" or a space may stand for "_" (so "very-high" is VERY_HIGH).
func ParseLevel(s string) (Level, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	name = strings.NewReplacer("-", "_", " ", "_").Replace(name)
	for _, l := range levels {
		if string(l) == name {
			return l, nil
		}
	}
	return "", fmt.Errorf("%w %q: valid levels are MEDIUM, HIGH, VERY_HIGH and HIGHEST", ErrUnknownLevel, s)
}

// Kind is the kind of comparison a FAR was measured for; each kind has its
// own FAR bound per level.
type Kind int

const (
	// Selfie compares a selfie with a selfie.
	Selfie Kind = iota
	// Document compares a document photo with a selfie.
	Document
)

func (k Kind) String() string {
	switch k {
	case Selfie:
		return "selfie"
	case Document:
		return "document"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

type workingPoint struct {
	far   float64
	score float64 // SimilarityScore at far
}

// workingPoints holds, per kind, the FAR bound and similarity score of each
// level, in the order of levels.
var workingPoints = map[Kind][4]workingPoint{
	Selfie:   {{1e-3, 80}, {1e-4, 90}, {1e-5, 95}, {1e-6, 98}},
	Document: {{1.0 / 200, 60}, {1e-3, 80}, {2e-4, 85}, {1e-4, 90}},
}

// scoreAnchors holds, per kind, the anchors of SimilarityScore: FAR 1, the
// working points and MinFAR, by decreasing FAR.
var scoreAnchors = func() map[Kind][]workingPoint {
	m := make(map[Kind][]workingPoint, len(workingPoints))
	for k, wp := range workingPoints {
		a := []workingPoint{{1, 0}}
		a = append(a, wp[:]...)
		m[k] = append(a, workingPoint{MinFAR, 100})
	}
	return m
}()

func levelIndex(l Level) int {
	for i, m := range levels {
		if m == l {
			return i
		}
	}
	return -1
}

// FARAt returns the FAR bound of level l for comparisons of kind k:
//
//	level       Selfie   Document
//	MEDIUM      1e-3     1/200
//	HIGH        1e-4     1e-3
//	VERY_HIGH   1e-5     2e-4
//	HIGHEST     1e-6     1e-4
//
// It returns 0, a bound no FAR reaches, for an unknown level or kind.
func (k Kind) FARAt(l Level) float64 {
	wp, ok := workingPoints[k]
	i := levelIndex(l)
	if !ok || i < 0 {
		return 0
	}
	return wp[i].far
}

// Reached reports whether a match with the given FAR satisfies level l,
// that is far <= k.FARAt(l).
func (k Kind) Reached(far float64, l Level) bool {
	b := k.FARAt(l)
	return b > 0 && far <= b
}

// HighestReached returns the strictest level whose FAR bound far satisfies
// (far <= bound), or false if far exceeds even the MEDIUM bound.
func (k Kind) HighestReached(far float64) (Level, bool) {
	for i := len(levels) - 1; i >= 0; i-- {
		if k.Reached(far, levels[i]) {
			return levels[i], true
		}
	}
	return "", false
}

// SimilarityScore maps a FAR to a 0..100 similarity score for display. It
// is pinned at the levels' working points (Selfie: MEDIUM 80, HIGH 90,
// VERY_HIGH 95, HIGHEST 98; Document: 60, 80, 85, 90), 0 at FAR 1 and 100
// at FAR [MinFAR], piecewise linear in -log10(FAR) between these anchors,
// and so continuous and non-decreasing as FAR falls. FAR above 1 or NaN
// gives 0, FAR below MinFAR gives 100. An unknown kind gives 0.
func (k Kind) SimilarityScore(far float64) float64 {
	if _, ok := workingPoints[k]; !ok || math.IsNaN(far) || far >= 1 {
		return 0
	}
	if far <= MinFAR {
		return 100
	}
	anchors := scoreAnchors[k]
	// Segment [a, b] with a.far >= far > b.far; at far == a.far the score is
	// exactly a.score.
	for i := 1; i < len(anchors); i++ {
		a, b := anchors[i-1], anchors[i]
		if far > b.far {
			la := math.Log10(a.far)
			t := (math.Log10(far) - la) / (math.Log10(b.far) - la)
			return min(max(a.score+t*(b.score-a.score), 0), 100)
		}
	}
	return 100
}
