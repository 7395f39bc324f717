package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/session"
)

// MatchFace is a face as it appears inside a match object.
type MatchFace = session.MatchFace

// Match is the match object of seed 000, plus the raw similarity and, when
// a level is requested, the decision fields of seed 002.
type Match = session.Match

// MatchHandler serves the match function: direct matches of images or a
// template against an image, and the matches inside a bio-session.
func MatchHandler(d *Deps) http.Handler {
	d.defaults()
	rt := newRouter(d)
	rt.handle("POST", "/v2/match/images", auth.ScopeMatch, d.billable("match", d.matchImages))
	rt.handle("POST", "/v2/match", auth.ScopeMatch, d.billable("match", d.matchTemplate))
	rt.handle("GET", "/v2/bio-sessions/{id}/faces/{referenceFaceId}/matches", auth.ScopeMatch, d.billable("session-matches", d.sessionMatches))
	return rt
}

// sessionMatches compares the reference face with every other face of the
// session, best first.
func (d *Deps) sessionMatches(w http.ResponseWriter, r *http.Request) {
	var level calibration.Level
	if l := r.URL.Query().Get("level"); l != "" {
		var err error
		if err = checkText("level", l); err != nil {
			WriteError(w, r, err)
			return
		}
		if level, err = calibration.ParseLevel(l); err != nil {
			WriteError(w, r, fault.Invalid("level: %v", err))
			return
		}
	}
	out, err := d.sessions().Matches(r.Context(), tenant(r), r.PathValue("id"), r.PathValue("referenceFaceId"), level, w.Header().Get("X-Request-Id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// readMatchParams reads the parameters common to both direct matches.
func readMatchParams(w http.ResponseWriter, f *form) (session.MatchParams, error) {
	p := session.MatchParams{RequestID: w.Header().Get("X-Request-Id")}
	var err error
	if p.CandidateType, err = biometric.ParseImageType(f.fields["candidateImageType"]); err != nil {
		return p, err
	}
	if l := f.fields["level"]; l != "" {
		if p.Level, err = calibration.ParseLevel(l); err != nil {
			return p, fault.Invalid("level: %v", err)
		}
	}
	if p.Rotation, err = f.boolField("imageRotationEnabled"); err != nil {
		return p, err
	}
	p.CorrelationID = f.fields["correlationId"]
	return p, nil
}

// matchFields are the fields common to both direct matches.
var matchFields = []string{"candidateImage", "candidateImageType", "level", "imageRotationEnabled", "correlationId"}

func (d *Deps) matchImages(w http.ResponseWriter, r *http.Request) {
	m, err := readMatchImages(w, r, d.sessions())
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func readMatchImages(w http.ResponseWriter, r *http.Request, svc *session.Service) (*Match, error) {
	f, err := readForm(w, r, "referenceImage", "candidateImage")
	if err != nil {
		return nil, err
	}
	if err := f.only(fieldsOf(nil, append(matchFields, "referenceImage", "referenceImageType")...)); err != nil {
		return nil, err
	}
	p, err := readMatchParams(w, f)
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
	return svc.MatchImages(r.Context(), tenant(r), refImg, refType, candImg, p)
}

// referenceJSON is a face JSON with its template (CreateFaceFromJson shape).
type referenceJSON = session.Reference

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
				return ref, fieldErr(fault.CodeConflictingFields, n, "give the reference face once: %s and %s are both given", name, n)
			}
			name = n
		}
	}
	if name == "" {
		return ref, fault.Invalid("the reference face JSON (with its template) is missing: send it as the reference part or field")
	}
	raw := f.json[name]
	var refs []json.RawMessage
	if json.Unmarshal(raw, &refs) == nil {
		if len(refs) != 1 {
			return ref, fieldErr(fault.CodeInvalidRequest, name, "exactly one reference face is expected, got %d", len(refs))
		}
		raw = refs[0]
	}
	if err := checkMembers(raw, name, referenceFields, true); err != nil {
		return ref, err
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return ref, fieldErr(fault.CodeInvalidRequest, name, "%s is not a face JSON object: %v", name, err)
	}
	return ref, checkStrings(name, &ref)
}

func (d *Deps) matchTemplate(w http.ResponseWriter, r *http.Request) {
	m, err := readMatchTemplate(w, r, d.sessions())
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func readMatchTemplate(w http.ResponseWriter, r *http.Request, svc *session.Service) (*Match, error) {
	f, err := readForm(w, r, "candidateImage")
	if err != nil {
		return nil, err
	}
	if err := f.only(fieldsOf(nil, append(matchFields, referenceNames...)...)); err != nil {
		return nil, err
	}
	raw, err := readReference(f)
	if err != nil {
		return nil, err
	}
	ref, err := svc.CheckReference(&raw)
	if err != nil {
		return nil, err
	}
	p, err := readMatchParams(w, f)
	if err != nil {
		return nil, err
	}
	candImg, err := f.image("candidateImage")
	if err != nil {
		return nil, err
	}
	return svc.MatchTemplate(r.Context(), tenant(r), ref, candImg, p)
}
