package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/facelambda/facelambda/internal/biometric"
	"github.com/facelambda/facelambda/internal/calibration"
	"github.com/facelambda/facelambda/internal/template"
)

// MatchFace is a face as it appears inside a match object.
type MatchFace struct {
	ID         string               `json:"id"`
	Mode       string               `json:"mode"`
	ImageType  biometric.ImageType  `json:"imageType"`
	Quality    int                  `json:"quality"`
	Landmarks  *biometric.Landmarks `json:"landmarks,omitempty"`
	FacesFound int                  `json:"facesFound,omitempty"`
}

// Match is the match object of seed 000, plus the raw similarity and, when
// a level is requested, the decision fields of seed 002.
type Match struct {
	Reference                         MatchFace          `json:"reference"`
	Candidate                         MatchFace          `json:"candidate"`
	Score                             float64            `json:"score"`
	FalseAcceptanceRate               float64            `json:"falseAcceptanceRate"`
	Similarity                        float64            `json:"similarity"`
	ComparisonType                    string             `json:"comparisonType"`
	Level                             *calibration.Level `json:"level,omitempty"`
	PossibleMatch                     *bool              `json:"possibleMatch,omitempty"`
	MatchHighestSecurityLevelReached  *calibration.Level `json:"matchHighestSecurityLevelReached,omitempty"`
	SimilarityScore                   *int               `json:"similarityScore,omitempty"`
	MultipleFacesImage                bool               `json:"multipleFacesImage"`
	MultipleFacesImageToVerifyAgainst bool               `json:"multipleFacesImageToVerifyAgainst"`
	CorrelationID                     *string            `json:"correlationId"`
	Created                           time.Time          `json:"created"`
}

// MatchHandler serves the match function: POST /v2/match/images and POST /v2/match.
func MatchHandler(s *biometric.Service) http.Handler {
	rt := newRouter()
	rt.handle("POST", "/v2/match/images", func(w http.ResponseWriter, r *http.Request) {
		m, err := matchImages(w, r, s)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	rt.handle("POST", "/v2/match", func(w http.ResponseWriter, r *http.Request) {
		m, err := matchTemplate(w, r, s)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	return rt
}

type matchParams struct {
	candidateType biometric.ImageType
	level         calibration.Level
	rotation      bool
	correlationID string
}

func readMatchParams(f *form) (matchParams, error) {
	var p matchParams
	var err error
	if p.candidateType, err = biometric.ParseImageType(f.fields["candidateImageType"]); err != nil {
		return p, err
	}
	if l := f.fields["level"]; l != "" {
		if p.level, err = calibration.ParseLevel(l); err != nil {
			return p, biometric.Invalid("level: %v", err)
		}
	}
	if p.rotation, err = f.boolField("imageRotationEnabled"); err != nil {
		return p, err
	}
	p.correlationID = f.fields["correlationId"]
	return p, nil
}

func matchImages(w http.ResponseWriter, r *http.Request, s *biometric.Service) (*Match, error) {
	f, err := readForm(w, r, "referenceImage", "candidateImage")
	if err != nil {
		return nil, err
	}
	p, err := readMatchParams(f)
	if err != nil {
		return nil, err
	}
	refType, err := biometric.ParseImageType(f.fields["referenceImageType"])
	if err != nil {
		return nil, err
	}
	refImg, err := f.image("referenceImage")
	if err != nil {
		return nil, err
	}
	candImg, err := f.image("candidateImage")
	if err != nil {
		return nil, err
	}
	ref, err := s.Analyze(refImg, biometric.Options{ImageType: refType, RotationEnabled: p.rotation, Label: "referenceImage"})
	if err != nil {
		return nil, err
	}
	cand, err := s.Analyze(candImg, biometric.Options{ImageType: p.candidateType, RotationEnabled: p.rotation, Label: "candidateImage"})
	if err != nil {
		return nil, err
	}
	refFace := analysisFace(s, ref, refType)
	return buildMatch(s, refFace, ref.Template, ref.MultipleFace, cand, p)
}

// referenceJSON is a face JSON with its template (CreateFaceFromJson shape).
type referenceJSON struct {
	ID              string               `json:"id"`
	Mode            string               `json:"mode"`
	ImageType       string               `json:"imageType"`
	Quality         int                  `json:"quality"`
	Landmarks       *biometric.Landmarks `json:"landmarks"`
	Template        string               `json:"template"`
	TemplateVersion *int                 `json:"templateVersion"`
}

func matchTemplate(w http.ResponseWriter, r *http.Request, s *biometric.Service) (*Match, error) {
	f, err := readForm(w, r, "candidateImage")
	if err != nil {
		return nil, err
	}
	raw, ok := f.json["reference"]
	if !ok {
		raw, ok = f.json["face"]
	}
	if !ok {
		return nil, biometric.Invalid("the reference face JSON (with its template) is missing: send it as the reference part or field")
	}
	var refs []referenceJSON
	if err := json.Unmarshal(raw, &refs); err != nil {
		var one referenceJSON
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, biometric.Invalid("reference is not a face JSON object: %v", err)
		}
		refs = []referenceJSON{one}
	}
	if len(refs) != 1 {
		return nil, biometric.Invalid("exactly one reference face is expected, got %d", len(refs))
	}
	ref := refs[0]
	if ref.Template == "" {
		return nil, biometric.Invalid("the reference face has no template")
	}
	if ref.TemplateVersion != nil && *ref.TemplateVersion != TemplateVersion {
		return nil, &biometric.Error{Status: http.StatusBadRequest, Code: biometric.CodeTemplateVersion,
			Message: "reference templateVersion " + itoa(*ref.TemplateVersion) + " is not supported (current templateVersion " + itoa(TemplateVersion) + "); re-create the face from an image"}
	}
	tpl, err := s.ParseTemplate("reference.template", ref.Template)
	if err != nil {
		return nil, err
	}
	refType, err := biometric.ParseImageType(ref.ImageType)
	if err != nil {
		return nil, err
	}
	p, err := readMatchParams(f)
	if err != nil {
		return nil, err
	}
	candImg, err := f.image("candidateImage")
	if err != nil {
		return nil, err
	}
	cand, err := s.Analyze(candImg, biometric.Options{ImageType: p.candidateType, RotationEnabled: p.rotation, Label: "candidateImage"})
	if err != nil {
		return nil, err
	}
	id := ref.ID
	if id == "" {
		id = biometric.NewID()
	}
	rf := MatchFace{ID: id, Mode: s.Encoder(), ImageType: refType, Quality: ref.Quality, Landmarks: ref.Landmarks}
	return buildMatch(s, rf, tpl, false, cand, p)
}

func analysisFace(s *biometric.Service, a *biometric.Analysis, t biometric.ImageType) MatchFace {
	lm := a.Landmarks
	return MatchFace{ID: biometric.NewID(), Mode: s.Encoder(), ImageType: t, Quality: a.Quality, Landmarks: &lm, FacesFound: a.FaceCount}
}

func buildMatch(s *biometric.Service, ref MatchFace, refTpl template.Template, refMulti bool, cand *biometric.Analysis, p matchParams) (*Match, error) {
	kind := biometric.KindOf(ref.ImageType, p.candidateType)
	c, err := s.Compare(refTpl, cand.Template, kind, p.level)
	if err != nil {
		return nil, err
	}
	m := Match{
		Reference: ref, Candidate: analysisFace(s, cand, p.candidateType),
		Score: c.Score, FalseAcceptanceRate: c.FAR, Similarity: c.Similarity, ComparisonType: comparisonType(kind),
		PossibleMatch: c.PossibleMatch, MatchHighestSecurityLevelReached: c.HighestLevel, SimilarityScore: c.SimilarityScore,
		MultipleFacesImage: cand.MultipleFace, MultipleFacesImageToVerifyAgainst: refMulti,
		CorrelationID: nilIfEmpty(p.correlationID), Created: s.Now().UTC(),
	}
	if p.level != "" {
		l := p.level
		m.Level = &l
	}
	return &m, nil
}

func itoa(i int) string { return strconv.Itoa(i) }

func comparisonType(k calibration.Kind) string {
	if k == calibration.Document {
		return "DOCUMENT_VS_SELFIE"
	}
	return "SELFIE_VS_SELFIE"
}
