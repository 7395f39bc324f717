package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/fault"
)

// Identifier searches the galleries of a tenant (enroll.Galleries).
type Identifier = enroll.Identifier

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
type GalleryJSON = enroll.GalleryJSON

// MemberPage is one page of a gallery's members.
type MemberPage = enroll.MemberPage

func (d *Deps) createGallery(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := readJSON(w, r, 16<<10, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	g, err := d.enrolment().CreateGallery(r.Context(), tenant(r), req.Name, req.Description)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v2/galleries/"+g.Name)
	writeJSON(w, http.StatusCreated, g)
}

func (d *Deps) listGalleries(w http.ResponseWriter, r *http.Request) {
	gs, err := d.enrolment().ListGalleries(r.Context(), tenant(r))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, gs)
}

func (d *Deps) deleteGallery(w http.ResponseWriter, r *http.Request) {
	if err := d.enrolment().DeleteGallery(r.Context(), tenant(r), r.PathValue("name")); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (d *Deps) changeMembers(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ClassIDs []uint64 `json:"classIds"`
		}
		if err := readJSON(w, r, 64<<10, &req); err != nil {
			WriteError(w, r, err)
			return
		}
		g, err := d.enrolment().ChangeMembers(r.Context(), tenant(r), r.PathValue("name"), req.ClassIDs, add)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, g)
	}
}

func (d *Deps) members(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, limit := uint64(0), 100
	var err error
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			WriteError(w, r, fault.Invalid("after must be a class id"))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			WriteError(w, r, fault.Invalid("limit must be 1 to 1000"))
			return
		}
	}
	page, err := d.enrolment().Members(r.Context(), tenant(r), r.PathValue("name"), after, limit)
	if err != nil {
		WriteError(w, r, err)
		return
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
type Candidate = enroll.Candidate

// Identification is the answer of POST /v2/galleries/{name}/identify.
type Identification = enroll.Identification

func (d *Deps) identify(w http.ResponseWriter, r *http.Request) {
	t, name := tenant(r), r.PathValue("name")
	var req identifyRequest
	if err := readJSON(w, r, int64(MaxBody), &req); err != nil {
		WriteError(w, r, err)
		return
	}
	p := enroll.Probe{K: 10, RequestID: w.Header().Get("X-Request-Id")}
	if req.CandidateListSize != nil {
		if p.K = *req.CandidateListSize; p.K < 1 || p.K > 100 {
			WriteError(w, r, fault.Invalid("candidateListSize must be 1 to 100"))
			return
		}
	}
	var err error
	if p.CutOffFAR, err = cutOff(req); err != nil {
		WriteError(w, r, err)
		return
	}
	uc := d.enrolment()
	if err := uc.CheckGallery(r.Context(), t, name); err != nil {
		WriteError(w, r, err)
		return
	}
	if p.Image, err = decodeBase64(req.Image); err != nil || len(p.Image) == 0 {
		WriteError(w, r, fault.Invalid("image is missing or not valid base64"))
		return
	}
	res, err := uc.Identify(r.Context(), t, name, p)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
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
		return 0, fieldErr(fault.CodeConflictingFields, strings.Join(given, ","),
			"give one cut-off: %s conflict", strings.Join(given, " and "))
	}
	switch {
	case req.MaxFAR != nil:
		if *req.MaxFAR < minCutOffFAR || *req.MaxFAR > 1 {
			return 0, fieldErr(fault.CodeInvalidRequest, "maxFalseAcceptanceRate", "maxFalseAcceptanceRate must be in [%g, 1]", minCutOffFAR)
		}
		return *req.MaxFAR, nil
	case req.MinScore != nil:
		if *req.MinScore < 1500 {
			return 0, fieldErr(fault.CodeInvalidRequest, "minScore", "minScore must be at least 1500 (FAR 1)")
		}
		far := math.Pow(10, -(*req.MinScore-1500)/500)
		if far < minCutOffFAR {
			return 0, fieldErr(fault.CodeInvalidRequest, "minScore", "minScore must be at most %.0f (FAR %g)",
				1500+500*-math.Log10(minCutOffFAR), minCutOffFAR)
		}
		return far, nil
	}
	level := calibration.High
	if req.Level != "" {
		var err error
		if level, err = calibration.ParseLevel(req.Level); err != nil {
			return 0, fault.Invalid("level: %v", err)
		}
	}
	return calibration.Selfie.FARAt(level), nil
}
