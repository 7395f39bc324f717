package httpapi

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/template"
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
	Expires                           *time.Time         `json:"expires,omitempty"`
	// RefID is the transaction id of the request that computed the match
	// (the X-Request-Id header).
	RefID string `json:"refid,omitempty"`
	// Claims bind a signed match to the tenant, the request and the
	// digests of what was compared (docs/api.md, "Signed results").
	*signing.Claims
	Signature string `json:"signature,omitempty"`
	// subjects are what was compared, bound when the match is signed.
	subjects []signing.Subject
}

// MatchHandler serves the match function: direct matches of images or a
// template against an image, and the matches inside a bio-session.
func MatchHandler(d *Deps) http.Handler {
	d.defaults()
	rt := newRouter(d)
	rt.handle("POST", "/v2/match/images", auth.ScopeMatch, d.billable("match", func(w http.ResponseWriter, r *http.Request) {
		d.respondMatch(w, r, func() (*Match, error) { return matchImages(w, r, d.Bio) })
	}))
	rt.handle("POST", "/v2/match", auth.ScopeMatch, d.billable("match", func(w http.ResponseWriter, r *http.Request) {
		d.respondMatch(w, r, func() (*Match, error) { return d.matchTemplate(w, r) })
	}))
	rt.handle("GET", "/v2/bio-sessions/{id}/faces/{referenceFaceId}/matches", auth.ScopeMatch, d.billable("session-matches", d.sessionMatches))
	return rt
}

func (d *Deps) respondMatch(w http.ResponseWriter, r *http.Request, f func() (*Match, error)) {
	m, err := f()
	if err != nil {
		writeError(w, r, err)
		return
	}
	m.RefID = w.Header().Get("X-Request-Id")
	d.writeDecision(w, r, http.StatusOK, m, m.subjects...)
	d.emit(r.Context())(events.NewMatchCompleted(tenant(r), events.MatchData{ReferenceFaceID: m.Reference.ID, CandidateFaceID: m.Candidate.ID,
		Score: m.Score, FalseAcceptanceRate: m.FalseAcceptanceRate, Level: string(deref(m.Level)), PossibleMatch: m.PossibleMatch, RefID: m.RefID}))
}

// sessionMatches compares the reference face with every other face of the
// session, best first.
func (d *Deps) sessionMatches(w http.ResponseWriter, r *http.Request) {
	t, sid, refID := tenant(r), r.PathValue("id"), r.PathValue("referenceFaceId")
	var level calibration.Level
	if l := r.URL.Query().Get("level"); l != "" {
		var err error
		if err = checkText("level", l); err != nil {
			writeError(w, r, err)
			return
		}
		if level, err = calibration.ParseLevel(l); err != nil {
			writeError(w, r, biometric.Invalid("level: %v", err))
			return
		}
	}
	sess, err := d.Records.GetSession(r.Context(), t, sid)
	if err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	faces, err := d.Records.ListFaces(r.Context(), t, sid)
	if err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	var ref *store.Face
	for i := range faces {
		if faces[i].ID == refID {
			ref = &faces[i]
		}
	}
	if ref == nil {
		writeError(w, r, errorf(http.StatusNotFound, CodeNotFound, "face not found"))
		return
	}
	refFace, refTpl, err := d.storedFace(*ref)
	if err != nil {
		writeError(w, r, err)
		return
	}
	now := d.now()
	exp := sess.Expires.UTC()
	out := []*Match{}
	refSubject := storedSubject("reference", refFace, refTpl)
	for _, f := range faces {
		if f.ID == refID {
			continue
		}
		cand, candTpl, err := d.storedFace(f)
		if err != nil {
			writeError(w, r, err)
			return
		}
		kind := biometric.KindOf(refFace.ImageType, cand.ImageType)
		c, err := d.Bio.Compare(refTpl, candTpl, kind, level)
		if err != nil {
			writeError(w, r, err)
			return
		}
		m := &Match{Reference: matchFaceOf(refFace), Candidate: matchFaceOf(cand), Score: c.Score, FalseAcceptanceRate: c.FAR,
			Similarity: c.Similarity, ComparisonType: comparisonType(kind), PossibleMatch: c.PossibleMatch,
			MatchHighestSecurityLevelReached: c.HighestLevel, SimilarityScore: c.SimilarityScore,
			CorrelationID: nilIfEmpty(sess.CorrelationID), Created: now, Expires: &exp, RefID: w.Header().Get("X-Request-Id"),
			subjects: []signing.Subject{refSubject, storedSubject("candidate", cand, candTpl)}}
		if level != "" {
			l := level
			m.Level = &l
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	for _, m := range out {
		if err := d.signDecision(w, r, m, m.subjects...); err != nil {
			writeError(w, r, internalErr(err))
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
	for _, m := range out {
		d.emit(r.Context())(events.NewMatchCompleted(t, events.MatchData{SessionID: sid, ReferenceFaceID: refID, CandidateFaceID: m.Candidate.ID,
			Score: m.Score, FalseAcceptanceRate: m.FalseAcceptanceRate, Level: string(level), PossibleMatch: m.PossibleMatch, RefID: w.Header().Get("X-Request-Id")}))
	}
}

// storedFace decodes a stored face and its template (checked against the
// running encoder: a face of an older encoder cannot be matched).
func (d *Deps) storedFace(rec store.Face) (*Face, template.Template, error) {
	f, err := faceOf(rec)
	if err != nil {
		return nil, template.Template{}, internalErr(err)
	}
	tpl, err := d.Bio.ParseTemplate("face "+rec.ID, f.Template)
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

// analysisSubject is an analysed image as the subject of a signed match.
func analysisSubject(role string, a *biometric.Analysis) signing.Subject {
	return signing.Subject{Role: role, ImageSHA256: a.Digest, TemplateSHA256: a.Template.Digest()}
}

func matchFaceOf(f *Face) MatchFace {
	return MatchFace{ID: f.ID, Mode: f.Mode, ImageType: f.ImageType, Quality: f.Quality, Landmarks: f.Landmarks, FacesFound: f.FacesFound}
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

// matchFields are the fields common to both direct matches.
var matchFields = []string{"candidateImage", "candidateImageType", "level", "imageRotationEnabled", "correlationId"}

func matchImages(w http.ResponseWriter, r *http.Request, s *biometric.Service) (*Match, error) {
	f, err := readForm(w, r, "referenceImage", "candidateImage")
	if err != nil {
		return nil, err
	}
	if err := f.only(fieldsOf(nil, append(matchFields, "referenceImage", "referenceImageType")...)); err != nil {
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
	return buildMatch(s, refFace, ref.Template, analysisSubject("reference", ref), ref.MultipleFace, cand, p)
}

// referenceJSON is a face JSON with its template (CreateFaceFromJson shape).
type referenceJSON struct {
	ID              string               `json:"id"`
	FriendlyName    string               `json:"friendlyName"`
	Digest          string               `json:"digest"`
	CorrelationID   string               `json:"correlationId"`
	Mode            string               `json:"mode"`
	ImageType       string               `json:"imageType"`
	Quality         int                  `json:"quality"`
	Landmarks       *biometric.Landmarks `json:"landmarks"`
	Template        string               `json:"template"`
	TemplateVersion *int                 `json:"templateVersion"`
	// Signature, when present, must be the service's signature of this
	// face (checkFaceSignature).
	Signature string `json:"signature"`
}

// referenceNames are the names the reference face JSON of POST /v2/match
// may have (seed 000 calls it referenceFace); one of them is given.
var referenceNames = []string{"reference", "referenceFace", "face"}

// referenceFields are the members of a reference face JSON: those of the
// face resource (the ones the service computes are accepted and ignored).
var referenceFields = fieldsOf([]any{referenceJSON{}, Face{}})

// readReference decodes the reference face JSON: an object, or a
// one-element array of it.
func readReference(f *form) (referenceJSON, error) {
	var ref referenceJSON
	name := ""
	for _, n := range referenceNames {
		if _, ok := f.json[n]; ok {
			if name != "" {
				return ref, fieldErr(CodeConflictingFields, n, "give the reference face once: %s and %s are both given", name, n)
			}
			name = n
		}
	}
	if name == "" {
		return ref, biometric.Invalid("the reference face JSON (with its template) is missing: send it as the reference part or field")
	}
	raw := f.json[name]
	var refs []json.RawMessage
	if json.Unmarshal(raw, &refs) == nil {
		if len(refs) != 1 {
			return ref, fieldErr(biometric.CodeInvalidRequest, name, "exactly one reference face is expected, got %d", len(refs))
		}
		raw = refs[0]
	}
	if err := checkMembers(raw, name, referenceFields, true); err != nil {
		return ref, err
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return ref, fieldErr(biometric.CodeInvalidRequest, name, "%s is not a face JSON object: %v", name, err)
	}
	return ref, checkStrings(name, &ref)
}

func (d *Deps) matchTemplate(w http.ResponseWriter, r *http.Request) (*Match, error) {
	s := d.Bio
	f, err := readForm(w, r, "candidateImage")
	if err != nil {
		return nil, err
	}
	if err := f.only(fieldsOf(nil, append(matchFields, referenceNames...)...)); err != nil {
		return nil, err
	}
	ref, err := readReference(f)
	if err != nil {
		return nil, err
	}
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
	if err := d.checkFaceSignature("reference.signature", &ref, tpl); err != nil {
		return nil, err
	}
	if err := d.checkFaceSignature("reference.signature", &ref, tpl); err != nil {
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
	// The reference comes from the client: it gets a fresh id, so a signed
	// match never vouches for an id the service did not check.
	rf := MatchFace{ID: biometric.NewID(), Mode: s.Encoder(), ImageType: refType, Quality: ref.Quality, Landmarks: ref.Landmarks}
	return buildMatch(s, rf, tpl, signing.Subject{Role: "reference", TemplateSHA256: tpl.Digest()}, false, cand, p)
}

func analysisFace(s *biometric.Service, a *biometric.Analysis, t biometric.ImageType) MatchFace {
	lm := a.Landmarks
	return MatchFace{ID: biometric.NewID(), Mode: s.Encoder(), ImageType: t, Quality: a.Quality, Landmarks: &lm, FacesFound: a.FaceCount}
}

func buildMatch(s *biometric.Service, ref MatchFace, refTpl template.Template, refSubject signing.Subject, refMulti bool, cand *biometric.Analysis, p matchParams) (*Match, error) {
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
		subjects: []signing.Subject{refSubject, analysisSubject("candidate", cand)},
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

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
