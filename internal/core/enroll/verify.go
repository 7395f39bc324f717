package enroll

import (
	"context"
	"errors"
	"fmt"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/ml/face"
)

// Verification is the verify response of seed 001 plus calibrated figures.
type Verification struct {
	Status          string          `json:"status"`
	Errors          []JobError      `json:"errors"`
	ImageProperties ImageProperties `json:"imageProperties"`
	Verified        bool            `json:"verified"`
	Score           float64         `json:"score"`
	// The calibrated figures are absent when no comparison was made (no
	// face, several faces).
	MatchScore             *float64           `json:"matchScore,omitempty"`
	FalseAcceptanceRate    *float64           `json:"falseAcceptanceRate,omitempty"`
	Similarity             *float64           `json:"similarity,omitempty"`
	Level                  calibration.Level  `json:"level"`
	HighestLevelReached    *calibration.Level `json:"matchHighestSecurityLevelReached"`
	ComparedFeatureVectors int                `json:"comparedFeatureVectors"`
}

// Verify compares a probe image with the class's template and decides at
// level. The probe is scored against the template's centroid, the
// normalised mean of its vectors (docs/api.md).
func (s *Service) Verify(ctx context.Context, tenant string, classID uint64, img []byte, level calibration.Level) (*Verification, error) {
	c, err := s.Classes.GetClass(ctx, tenant, classID)
	if err != nil {
		return nil, notFound(err)
	}
	vecs, err := s.Vectors(ctx, c)
	if err != nil {
		return nil, err
	}
	if len(vecs) == 0 {
		return nil, notFound(store.ErrNotFound)
	}
	v := &Verification{Status: StatusSucceeded, Errors: []JobError{}, Level: level, ComparedFeatureVectors: len(vecs)}
	a, err := s.Bio.Analyze(img, biometric.Options{Label: "image"})
	if err != nil {
		var be *fault.Error
		if errors.As(err, &be) && be.Code == fault.CodeFaceNotFound {
			v.Errors = append(v.Errors, JobError{ErrorCode: "FaceNotFound", Message: be.Message})
			v.ImageProperties = ImageProperties{Faces: []FaceProperties{}, QualityAssessments: []Assessment{{Check: "FaceFound", Score: 0}}}
			return v, nil
		}
		return nil, err
	}
	v.ImageProperties = ImageProperties{Rotated: a.Rotation, QualityScore: a.Quality, Faces: []FaceProperties{{
		LeftEye: Point{a.Landmarks.Eyes.X2, a.Landmarks.Eyes.Y2}, RightEye: Point{a.Landmarks.Eyes.X1, a.Landmarks.Eyes.Y1}, Box: &a.Box}},
		QualityAssessments: []Assessment{{Check: "FaceFound", Score: 1}}}
	if a.FaceCount > 1 {
		v.Errors = append(v.Errors, JobError{ErrorCode: "MultipleFacesFound", Message: fmt.Sprintf("%d faces found; exactly one is expected", a.FaceCount)})
		v.ImageProperties.QualityAssessments = append(v.ImageProperties.QualityAssessments, Assessment{Check: "SingleFaceOnImage", Score: 0})
		return v, nil
	}
	probe := template.Template{Encoder: s.Bio.Encoder(), Vector: a.Template.Vector}
	ref := template.Template{Encoder: s.Bio.Encoder(), Vector: Centroid(vecs)}
	cmp, err := s.Bio.Compare(ref, probe, calibration.Selfie, level)
	if err != nil {
		return nil, err
	}
	v.Similarity, v.FalseAcceptanceRate, v.MatchScore = &cmp.Similarity, &cmp.FAR, &cmp.Score
	v.Verified = cmp.PossibleMatch != nil && *cmp.PossibleMatch
	v.HighestLevelReached = cmp.HighestLevel
	v.Score = NormalisedScore(cmp.Similarity)
	return v, nil
}

// Centroid is the normalised mean of a template's vectors: what a probe is
// compared with. On LFW it beats the best single vector and the mean
// cosine, and keeps the calibrated FAR closer to the truth
// (docs/accuracy.md, `facelambda eval template-fusion`).
func Centroid(vecs [][]float32) []float32 {
	c := make([]float32, len(vecs[0]))
	for _, v := range vecs {
		for i := range c {
			c[i] += v[i]
		}
	}
	return face.Normalize(c)
}

// NormalisedScore maps cosine similarity to seed 001's 0..1 score.
func NormalisedScore(cos float64) float64 {
	return max(0, min(1, (cos+1)/2))
}
