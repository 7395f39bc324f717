package httpapi

import (
	"context"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
)

// Identifier searches the galleries of a tenant (enroll.Galleries).
type Identifier interface {
	// Identify returns the k classes of the gallery most similar to probe
	// with a cosine of at least minCosine, best first.
	Identify(ctx context.Context, tenant, gallery string, probe []float32, k int, minCosine float64) ([]enroll.Hit, error)
	// Drop deletes what is kept of galleries besides their records (stored
	// shards, cached matrices).
	Drop(ctx context.Context, tenant string, galleries ...string) error
}

var galleryName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (d *Deps) galleryRoutes(rt *router) {
	rt.handle("POST", "/v2/galleries", auth.ScopeEnroll, d.createGallery)
	rt.handle("GET", "/v2/galleries", auth.ScopeEnroll, d.listGalleries)
	rt.handle("DELETE", "/v2/galleries/{name}", auth.ScopeEnroll, d.deleteGallery)
	rt.handle("POST", "/v2/galleries/{name}/members", auth.ScopeEnroll, d.changeMembers(true))
	rt.handle("DELETE", "/v2/galleries/{name}/members", auth.ScopeEnroll, d.changeMembers(false))
	rt.handle("GET", "/v2/galleries/{name}/members", auth.ScopeEnroll, d.members)
	rt.handle("POST", "/v2/galleries/{name}/identify", auth.ScopeMatch, d.billable("identify", d.identify))
}

// GalleryJSON is a gallery resource.
type GalleryJSON struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Members     int       `json:"members"`
	Version     int64     `json:"version"`
	Created     time.Time `json:"created"`
}

func galleryOf(g store.Gallery) GalleryJSON {
	return GalleryJSON{Name: g.Name, Description: g.Description, Members: g.Members, Version: g.Version, Created: g.Created.UTC()}
}

func galleryError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, "gallery not found")
	case errors.Is(err, store.ErrExists):
		return errorf(http.StatusConflict, "GALLERY_EXISTS", "a gallery of that name exists")
	}
	return internalErr(err)
}

func (d *Deps) createGallery(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := readJSON(w, r, 16<<10, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if !galleryName.MatchString(req.Name) {
		writeError(w, r, biometric.Invalid("name must be 1-64 of A-Z a-z 0-9 _ -"))
		return
	}
	if len(req.Description) > 1024 {
		writeError(w, r, biometric.Invalid("description is longer than 1024 characters"))
		return
	}
	g := store.Gallery{Tenant: tenant(r), Name: req.Name, Description: req.Description, Created: d.now()}
	if err := d.Classes.CreateGallery(r.Context(), g); err != nil {
		writeError(w, r, galleryError(err))
		return
	}
	g, err := d.Classes.GetGallery(r.Context(), g.Tenant, g.Name)
	if err != nil {
		writeError(w, r, galleryError(err))
		return
	}
	w.Header().Set("Location", "/v2/galleries/"+g.Name)
	writeJSON(w, http.StatusCreated, galleryOf(g))
}

func (d *Deps) listGalleries(w http.ResponseWriter, r *http.Request) {
	gs, err := d.Classes.ListGalleries(r.Context(), tenant(r))
	if err != nil {
		writeError(w, r, galleryError(err))
		return
	}
	out := make([]GalleryJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, galleryOf(g))
	}
	writeJSON(w, http.StatusOK, out)
}

func (d *Deps) deleteGallery(w http.ResponseWriter, r *http.Request) {
	if err := d.Classes.DeleteGallery(r.Context(), tenant(r), r.PathValue("name")); err != nil {
		writeError(w, r, galleryError(err))
		return
	}
	if err := d.Galleries.Drop(r.Context(), tenant(r), r.PathValue("name")); err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// maxMembersPerCall bounds one membership change.
const maxMembersPerCall = 1000

func (d *Deps) changeMembers(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ClassIDs []uint64 `json:"classIds"`
		}
		if err := readJSON(w, r, 64<<10, &req); err != nil {
			writeError(w, r, err)
			return
		}
		if len(req.ClassIDs) == 0 || len(req.ClassIDs) > maxMembersPerCall {
			writeError(w, r, biometric.Invalid("classIds must list 1 to %d class ids", maxMembersPerCall))
			return
		}
		for _, id := range req.ClassIDs {
			if id == 0 {
				writeError(w, r, biometric.Invalid("class ids are positive 64-bit numbers"))
				return
			}
		}
		var g store.Gallery
		var err error
		if add {
			g, err = d.Classes.AddMembers(r.Context(), tenant(r), r.PathValue("name"), req.ClassIDs)
		} else {
			g, err = d.Classes.RemoveMembers(r.Context(), tenant(r), r.PathValue("name"), req.ClassIDs)
		}
		if err != nil {
			writeError(w, r, galleryError(err))
			return
		}
		writeJSON(w, http.StatusOK, galleryOf(g))
	}
}

// MemberPage is one page of a gallery's members.
type MemberPage struct {
	ClassIDs []uint64 `json:"classIds"`
	// Next is the value of ?after= for the next page; absent on the last.
	Next string `json:"next,omitempty"`
}

func (d *Deps) members(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, limit := uint64(0), 100
	var err error
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			writeError(w, r, biometric.Invalid("after must be a class id"))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			writeError(w, r, biometric.Invalid("limit must be 1 to 1000"))
			return
		}
	}
	ids, next, err := d.Classes.Members(r.Context(), tenant(r), r.PathValue("name"), after, limit)
	if err != nil {
		writeError(w, r, galleryError(err))
		return
	}
	page := MemberPage{ClassIDs: ids}
	if page.ClassIDs == nil {
		page.ClassIDs = []uint64{}
	}
	if next != 0 {
		page.Next = strconv.FormatUint(next, 10)
	}
	writeJSON(w, http.StatusOK, page)
}

type identifyRequest struct {
	Image             string   `json:"image"`
	CandidateListSize *int     `json:"candidateListSize"`
	Level             string   `json:"level"`
	MaxFAR            *float64 `json:"maxFalseAcceptanceRate"`
	MinScore          *float64 `json:"minScore"`
}

// Candidate is one identification candidate.
type Candidate struct {
	ClassID             uint64  `json:"classId"`
	Score               float64 `json:"score"`
	FalseAcceptanceRate float64 `json:"falseAcceptanceRate"`
	Similarity          float64 `json:"similarity"`
}

// Identification is the answer of POST /v2/galleries/{name}/identify.
type Identification struct {
	Status          string                 `json:"status"`
	Errors          []enroll.JobError      `json:"errors"`
	ImageProperties enroll.ImageProperties `json:"imageProperties"`
	Candidates      []Candidate            `json:"candidates"`
	// CutOff is the FAR per comparison a candidate must reach.
	CutOff float64 `json:"cutOffFalseAcceptanceRate"`
	RefID  string  `json:"refid"`
	// Claims bind a signed identification to the tenant, the request, the
	// probe image and the gallery.
	*signing.Claims
	Signature string `json:"signature,omitempty"`
}

func (i *Identification) setSignature(sig string) { i.Signature = sig }
func (i *Identification) bind(c *signing.Claims)  { i.Claims = c }

func (d *Deps) identify(w http.ResponseWriter, r *http.Request) {
	t, name := tenant(r), r.PathValue("name")
	var req identifyRequest
	if err := readJSON(w, r, int64(MaxBody), &req); err != nil {
		writeError(w, r, err)
		return
	}
	k := 10
	if req.CandidateListSize != nil {
		if k = *req.CandidateListSize; k < 1 || k > 100 {
			writeError(w, r, biometric.Invalid("candidateListSize must be 1 to 100"))
			return
		}
	}
	cutFAR, err := cutOff(req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if _, err := d.Classes.GetGallery(r.Context(), t, name); err != nil {
		writeError(w, r, galleryError(err))
		return
	}
	img, err := decodeBase64(req.Image)
	if err != nil || len(img) == 0 {
		writeError(w, r, biometric.Invalid("image is missing or not valid base64"))
		return
	}
	a, err := d.Bio.Analyze(img, biometric.Options{Label: "image"})
	if err != nil {
		writeError(w, r, err)
		return
	}
	minCos, err := d.Bio.CosineAt(cutFAR)
	if err != nil {
		writeError(w, r, err)
		return
	}
	hits, err := d.Galleries.Identify(r.Context(), t, name, a.Template.Vector, k, minCos)
	if err != nil {
		writeError(w, r, galleryError(err))
		return
	}
	res := Identification{Status: enroll.StatusSucceeded, Errors: []enroll.JobError{}, Candidates: []Candidate{},
		CutOff: cutFAR, RefID: w.Header().Get("X-Request-Id"),
		ImageProperties: enroll.ImageProperties{Rotated: a.Rotation, QualityScore: a.Quality, Faces: []enroll.FaceProperties{{
			LeftEye: enroll.Point{X: a.Landmarks.Eyes.X2, Y: a.Landmarks.Eyes.Y2}, RightEye: enroll.Point{X: a.Landmarks.Eyes.X1, Y: a.Landmarks.Eyes.Y1}, Box: &a.Box}},
			QualityAssessments: []enroll.Assessment{}}}
	if a.FaceCount > 1 {
		res.Errors = append(res.Errors, enroll.JobError{ErrorCode: "MultipleFacesFound", Message: "several faces found; the most prominent was searched"})
	}
	for _, h := range hits {
		far, score, err := d.Bio.Calibrated(h.Cosine)
		if err != nil {
			writeError(w, r, err)
			return
		}
		res.Candidates = append(res.Candidates, Candidate{ClassID: h.ClassID, Score: score, FalseAcceptanceRate: far, Similarity: math.Round(h.Cosine*1e6) / 1e6})
	}
	d.writeDecision(w, r, http.StatusOK, &res, analysisSubject("probe", a), signing.Subject{Role: "gallery", ID: name})
	ec := make([]events.Candidate, 0, len(res.Candidates))
	for _, c := range res.Candidates {
		ec = append(ec, events.Candidate{ClassID: c.ClassID, Score: c.Score, FalseAcceptanceRate: c.FalseAcceptanceRate})
	}
	d.emit(r.Context())(events.NewIdentificationCompleted(t, events.IdentificationData{Gallery: name, Candidates: ec, RefID: res.RefID}))
}

// minCutOffFAR is the smallest FAR per comparison a cut-off may ask: below
// it no calibration resolves anything (and 10^-x underflows to 0).
const minCutOffFAR = 1e-30

// cutOff reads the request's cut-off as a FAR per comparison: an explicit
// maxFalseAcceptanceRate, a minimum score (1500 + 500 * -log10 FAR), or a
// level (selfie working points; default HIGH, FAR 1e-4).
func cutOff(req identifyRequest) (float64, error) {
	var given []string
	if req.Level != "" {
		given = append(given, "level")
	}
	if req.MinScore != nil {
		given = append(given, "minScore")
	}
	if req.MaxFAR != nil {
		given = append(given, "maxFalseAcceptanceRate")
	}
	if len(given) > 1 {
		return 0, fieldErr(CodeConflictingFields, strings.Join(given, ","),
			"give one cut-off: %s conflict", strings.Join(given, " and "))
	}
	switch {
	case req.MaxFAR != nil:
		if *req.MaxFAR < minCutOffFAR || *req.MaxFAR > 1 {
			return 0, fieldErr(biometric.CodeInvalidRequest, "maxFalseAcceptanceRate", "maxFalseAcceptanceRate must be in [%g, 1]", minCutOffFAR)
		}
		return *req.MaxFAR, nil
	case req.MinScore != nil:
		if *req.MinScore < 1500 {
			return 0, fieldErr(biometric.CodeInvalidRequest, "minScore", "minScore must be at least 1500 (FAR 1)")
		}
		far := math.Pow(10, -(*req.MinScore-1500)/500)
		if far < minCutOffFAR {
			return 0, fieldErr(biometric.CodeInvalidRequest, "minScore", "minScore must be at most %.0f (FAR %g)",
				1500+500*-math.Log10(minCutOffFAR), minCutOffFAR)
		}
		return far, nil
	}
	level := calibration.High
	if req.Level != "" {
		var err error
		if level, err = calibration.ParseLevel(req.Level); err != nil {
			return 0, biometric.Invalid("level: %v", err)
		}
	}
	return calibration.Selfie.FARAt(level), nil
}
