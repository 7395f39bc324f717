package session

import (
	"context"
	"sort"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/core/uid"
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

// Match is the match object, with the raw similarity and, when a level is
// requested, the decision fields.
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
	Expires                           *time.Time         `json:"expires,omitempty"`
	// RefID is the transaction id of the request that computed the match.
	RefID string `json:"refid,omitempty"`
	// Claims bind a signed match to the tenant, the request and the
	// digests of what was compared (docs/api.md, "Signed results").
	*signing.Claims
	Signature string `json:"signature,omitempty"`
	// subjects are what was compared, bound when the match is signed.
	subjects []signing.Subject
}

// SetSignature sets the match's signature (signing.Decision).
func (m *Match) SetSignature(sig string) { m.Signature = sig }

// Bind sets the claims a signed match carries (signing.Decision).
func (m *Match) Bind(c *signing.Claims) { m.Claims = c }

// MatchParams are the parameters common to both direct matches.
type MatchParams struct {
	CandidateType biometric.ImageType
	Level         calibration.Level
	Rotation      bool
	CorrelationID string
	// RequestID is the request's transaction id (the match's refid and
	// the request its signature binds).
	RequestID string
}

// MatchImages compares a reference image of type refType with a candidate
// image; the match is signed, bound to both images.
func (s *Service) MatchImages(ctx context.Context, tenant string, refImg []byte, refType biometric.ImageType, candImg []byte, p MatchParams) (*Match, error) {
	ref, err := s.Bio.Analyze(refImg, biometric.Options{ImageType: refType, RotationEnabled: p.Rotation, Label: "referenceImage"})
	if err != nil {
		return nil, err
	}
	cand, err := s.analyzeCandidate(candImg, p)
	if err != nil {
		return nil, err
	}
	refFace := s.analysisFace(ref, refType)
	m, err := s.buildMatch(refFace, ref.Template, analysisSubject("reference", ref), ref.MultipleFace, cand, p)
	if err != nil {
		return nil, err
	}
	return m, s.decide(ctx, tenant, m)
}

// CheckedReference is a reference face JSON whose template and signature
// were checked (CheckReference).
type CheckedReference struct {
	ref       *Reference
	tpl       template.Template
	imageType biometric.ImageType
}

// CheckReference checks the reference face JSON of a template match: its
// template, template version, signature and image type.
func (s *Service) CheckReference(ref *Reference) (*CheckedReference, error) {
	if ref.Template == "" {
		return nil, fault.Invalid("the reference face has no template")
	}
	tpl, it, err := s.checkReference("reference", ref)
	if err != nil {
		return nil, err
	}
	return &CheckedReference{ref: ref, tpl: tpl, imageType: it}, nil
}

// MatchTemplate compares a checked reference face with a candidate image;
// the match is signed, bound to the reference's template and the image.
func (s *Service) MatchTemplate(ctx context.Context, tenant string, ref *CheckedReference, candImg []byte, p MatchParams) (*Match, error) {
	cand, err := s.analyzeCandidate(candImg, p)
	if err != nil {
		return nil, err
	}
	// The reference comes from the client: it gets a fresh id, so a signed
	// match never vouches for an id the service did not check.
	rf := MatchFace{ID: uid.New(), Mode: s.Bio.Encoder(), ImageType: ref.imageType, Quality: ref.ref.Quality, Landmarks: ref.ref.Landmarks}
	m, err := s.buildMatch(rf, ref.tpl, signing.Subject{Role: "reference", TemplateSHA256: ref.tpl.Digest()}, false, cand, p)
	if err != nil {
		return nil, err
	}
	return m, s.decide(ctx, tenant, m)
}

func (s *Service) analyzeCandidate(img []byte, p MatchParams) (*biometric.Analysis, error) {
	return s.Bio.Analyze(img, biometric.Options{ImageType: p.CandidateType, RotationEnabled: p.Rotation, Label: "candidateImage"})
}

// decide publishes a direct match's event and signs it.
func (s *Service) decide(ctx context.Context, tenant string, m *Match) error {
	s.emit(ctx)(events.NewMatchCompleted(tenant, events.MatchData{ReferenceFaceID: m.Reference.ID, CandidateFaceID: m.Candidate.ID,
		Score: m.Score, FalseAcceptanceRate: m.FalseAcceptanceRate, Level: string(deref(m.Level)), PossibleMatch: m.PossibleMatch, RefID: m.RefID}))
	return s.Signer.SignDecision(m, tenant, m.RefID, s.now(), m.subjects...)
}

func (s *Service) analysisFace(a *biometric.Analysis, t biometric.ImageType) MatchFace {
	lm := a.Landmarks
	return MatchFace{ID: uid.New(), Mode: s.Bio.Encoder(), ImageType: t, Quality: a.Quality, Landmarks: &lm, FacesFound: a.FaceCount}
}

func (s *Service) buildMatch(ref MatchFace, refTpl template.Template, refSubject signing.Subject, refMulti bool, cand *biometric.Analysis, p MatchParams) (*Match, error) {
	kind := biometric.KindOf(ref.ImageType, p.CandidateType)
	c, err := s.Bio.Compare(refTpl, cand.Template, kind, p.Level)
	if err != nil {
		return nil, err
	}
	m := Match{
		Reference: ref, Candidate: s.analysisFace(cand, p.CandidateType),
		Score: c.Score, FalseAcceptanceRate: c.FAR, Similarity: c.Similarity, ComparisonType: comparisonType(kind),
		PossibleMatch: c.PossibleMatch, MatchHighestSecurityLevelReached: c.HighestLevel, SimilarityScore: c.SimilarityScore,
		MultipleFacesImage: cand.MultipleFace, MultipleFacesImageToVerifyAgainst: refMulti,
		CorrelationID: nilIfEmpty(p.CorrelationID), Created: s.Bio.Now().UTC(), RefID: p.RequestID,
		subjects: []signing.Subject{refSubject, analysisSubject("candidate", cand)},
	}
	if p.Level != "" {
		l := p.Level
		m.Level = &l
	}
	return &m, nil
}

// Matches compares the reference face refID of a session with every other
// face of it, best first, each match signed and bound to both faces.
func (s *Service) Matches(ctx context.Context, tenant, sid, refID string, level calibration.Level, requestID string) ([]*Match, error) {
	sess, err := s.Open(ctx, tenant, sid)
	if err != nil {
		return nil, err
	}
	faces, err := s.Records.ListFaces(ctx, tenant, sid)
	if err != nil {
		return nil, storeError(err, "bio-session")
	}
	var ref *store.Face
	for i := range faces {
		if faces[i].ID == refID {
			ref = &faces[i]
		}
	}
	if ref == nil {
		return nil, fault.New(fault.CodeNotFound, "face not found")
	}
	refFace, refTpl, err := s.storedFace(*ref)
	if err != nil {
		return nil, err
	}
	now, exp := s.now(), sess.Expires.UTC()
	out := []*Match{}
	refSubject := storedSubject("reference", refFace, refTpl)
	for _, f := range faces {
		if f.ID == refID {
			continue
		}
		cand, candTpl, err := s.storedFace(f)
		if err != nil {
			return nil, err
		}
		kind := biometric.KindOf(refFace.ImageType, cand.ImageType)
		c, err := s.Bio.Compare(refTpl, candTpl, kind, level)
		if err != nil {
			return nil, err
		}
		m := &Match{Reference: matchFaceOf(refFace), Candidate: matchFaceOf(cand), Score: c.Score, FalseAcceptanceRate: c.FAR,
			Similarity: c.Similarity, ComparisonType: comparisonType(kind), PossibleMatch: c.PossibleMatch,
			MatchHighestSecurityLevelReached: c.HighestLevel, SimilarityScore: c.SimilarityScore,
			CorrelationID: nilIfEmpty(sess.CorrelationID), Created: now, Expires: &exp, RefID: requestID,
			subjects: []signing.Subject{refSubject, storedSubject("candidate", cand, candTpl)}}
		if level != "" {
			l := level
			m.Level = &l
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	for _, m := range out {
		if err := s.Signer.SignDecision(m, tenant, requestID, s.now(), m.subjects...); err != nil {
			return nil, err
		}
	}
	for _, m := range out {
		s.emit(ctx)(events.NewMatchCompleted(tenant, events.MatchData{SessionID: sid, ReferenceFaceID: refID, CandidateFaceID: m.Candidate.ID,
			Score: m.Score, FalseAcceptanceRate: m.FalseAcceptanceRate, Level: string(level), PossibleMatch: m.PossibleMatch, RefID: requestID}))
	}
	return out, nil
}

// storedFace decodes a stored face and its template (checked against the
// running encoder: a face of an older encoder cannot be matched).
func (s *Service) storedFace(rec store.Face) (*Face, template.Template, error) {
	f, err := resourceOfFace(rec)
	if err != nil {
		return nil, template.Template{}, err
	}
	tpl, err := s.Bio.ParseTemplate("face "+rec.ID, f.Template)
	if err != nil {
		return nil, tpl, err
	}
	return f, tpl, nil
}

// storedSubject is a stored face as the subject of a signed match: its id,
// its template's digest and, for a face made from an image, the image's.
func storedSubject(role string, f *Face, tpl template.Template) signing.Subject {
	return signing.Subject{Role: role, ID: f.ID, ImageSHA256: f.Digest, TemplateSHA256: tpl.Digest()}
}

// analysisSubject is an analysed image as the subject of a signed decision.
func analysisSubject(role string, a *biometric.Analysis) signing.Subject {
	return signing.Subject{Role: role, ImageSHA256: a.Digest, TemplateSHA256: a.Template.Digest()}
}

// AnalysisSubject is an analysed image as the subject of a signed decision.
func AnalysisSubject(role string, a *biometric.Analysis) signing.Subject {
	return analysisSubject(role, a)
}

func matchFaceOf(f *Face) MatchFace {
	return MatchFace{ID: f.ID, Mode: f.Mode, ImageType: f.ImageType, Quality: f.Quality, Landmarks: f.Landmarks, FacesFound: f.FacesFound}
}

func comparisonType(k calibration.Kind) string {
	if k == calibration.Document {
		return "DOCUMENT_VS_SELFIE"
	}
	return "SELFIE_VS_SELFIE"
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
