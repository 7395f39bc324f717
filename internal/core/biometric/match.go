package biometric

import (
	"errors"
	"math"

	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/ml/face"
)

// Comparison is the calibrated result of comparing two templates.
type Comparison struct {
	Similarity float64 // cosine similarity, -1..1
	FAR        float64 // false-acceptance rate as a fraction, 0..1
	Score      float64 // 1500 + 500 * -log10(FAR)
	Kind       calibration.Kind
	// With a requested level:
	Level           calibration.Level
	PossibleMatch   *bool
	HighestLevel    *calibration.Level // nil when no level is reached
	SimilarityScore *int
}

// KindOf is document-vs-selfie when either image is an identity document.
func KindOf(a, b ImageType) calibration.Kind {
	if a == IDDocument || b == IDDocument {
		return calibration.Document
	}
	return calibration.Selfie
}

// Compare scores two templates of this service's encoder. level may be ""
// (no decision requested). It trusts neither template: one of another
// encoder, or whose vector is not of the encoder's dimensions, finite and
// of unit norm (template.Check), is refused with INVALID_TEMPLATE, and the
// cosine itself is bounded whatever the vectors (face.Cosine).
func (s *Service) Compare(a, b template.Template, kind calibration.Kind, level calibration.Level) (Comparison, error) {
	if s.cal == nil {
		return Comparison{}, internal(errors.New("no calibration table loaded"))
	}
	for _, in := range []struct {
		label string
		t     template.Template
	}{{"reference template", a}, {"candidate template", b}} {
		label, t := in.label, in.t
		if t.Encoder != s.encoder {
			return Comparison{}, templateError(label, &template.EncoderMismatchError{Encoder: t.Encoder, Want: s.encoder})
		}
		if err := template.Check(t.Vector, s.dims); err != nil {
			return Comparison{}, templateError(label, err)
		}
	}
	cos := face.Cosine(a.Vector, b.Vector)
	far := s.cal.FAR(cos)
	c := Comparison{Similarity: round(cos, 6), FAR: far, Score: round(calibration.Score(far), 2), Kind: kind, Level: level}
	if level != "" {
		ok := kind.Reached(far, level)
		c.PossibleMatch = &ok
		if l, reached := kind.HighestReached(far); reached {
			c.HighestLevel = &l
		}
		sc := int(math.Floor(kind.SimilarityScore(far)))
		c.SimilarityScore = &sc
	}
	return c, nil
}

// Calibrated maps a cosine similarity to its false-acceptance rate and score.
func (s *Service) Calibrated(cos float64) (far, score float64, err error) {
	if s.cal == nil {
		return 0, 0, internal(errors.New("no calibration table loaded"))
	}
	far = s.cal.FAR(cos)
	return far, round(calibration.Score(far), 2), nil
}

// CosineAt inverts the calibration: the cosine at which FAR equals far.
func (s *Service) CosineAt(far float64) (float64, error) {
	if s.cal == nil {
		return 0, internal(errors.New("no calibration table loaded"))
	}
	return s.cal.CosineAt(far), nil
}
