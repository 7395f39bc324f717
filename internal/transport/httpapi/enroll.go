package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/fault"
)

// maxEnrolBody is the largest enrolment request (seed 004: 50 MB; Lambda
// itself stops synchronous requests at 6 MB).
const maxEnrolBody = 50 << 20

// EnrollHandler serves the enroll function: templates of class ids,
// verification against them, galleries and 1:N identification.
func EnrollHandler(d *Deps) http.Handler {
	d.defaults()
	rt := newRouter(d)
	rt.handle("POST", "/v2/enroll/{classId}", auth.ScopeEnroll, d.billable("enroll", d.enrol))
	rt.handle("POST", "/v2/verify/{classId}", auth.ScopeMatch, d.billable("verify", d.verify))
	rt.handle("GET", "/v2/templates/{classId}", auth.ScopeEnroll, d.templateStatus)
	rt.handle("DELETE", "/v2/templates/{classId}", auth.ScopeEnroll, d.deleteTemplate)
	d.galleryRoutes(rt)
	return rt
}

type imageItem struct {
	Image string `json:"image"`
}

func (d *Deps) enrol(w http.ResponseWriter, r *http.Request) {
	t := tenant(r)
	id, err := enroll.ParseClassID(r.PathValue("classId"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	var items []imageItem
	if err := readJSONArray(w, r, maxEnrolBody, &items); err != nil {
		WriteError(w, r, err)
		return
	}
	if len(items) > enroll.MaxImages {
		WriteError(w, r, fault.Invalid("at most %d images per enrolment, got %d", enroll.MaxImages, len(items)))
		return
	}
	images := make([][]byte, len(items))
	for i, it := range items {
		if images[i], err = decodeBase64(it.Image); err != nil || len(images[i]) == 0 {
			WriteError(w, r, fault.Invalid("images[%d].image is not valid base64", i))
			return
		}
	}
	res, err := d.enrolment().Enroll(r.Context(), t, w.Header().Get("X-Request-Id"), id, images)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// readJSONArray decodes a JSON array body (an object is taken as a
// one-element array).
func readJSONArray[T any](w http.ResponseWriter, r *http.Request, limit int64, v *[]T) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyError(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		items = []json.RawMessage{b} // one object
	}
	*v = make([]T, len(items))
	for i, raw := range items {
		if err := decodeStrict(raw, fmt.Sprintf("images[%d]", i), &(*v)[i]); err != nil {
			return err
		}
	}
	return nil
}

type verifyRequest struct {
	Image string `json:"image"`
	Level string `json:"level"`
}

func (d *Deps) verify(w http.ResponseWriter, r *http.Request) {
	t := tenant(r)
	id, err := enroll.ParseClassID(r.PathValue("classId"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	var req verifyRequest
	if err := readJSON(w, r, int64(MaxBody), &req); err != nil {
		WriteError(w, r, err)
		return
	}
	level := calibration.High
	if req.Level != "" {
		if level, err = calibration.ParseLevel(req.Level); err != nil {
			WriteError(w, r, fault.Invalid("level: %v", err))
			return
		}
	}
	img, err := decodeBase64(req.Image)
	if err != nil || len(img) == 0 {
		WriteError(w, r, fault.Invalid("image is missing or not valid base64"))
		return
	}
	v, err := d.enrolment().Verify(r.Context(), t, w.Header().Get("X-Request-Id"), id, img, level)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (d *Deps) templateStatus(w http.ResponseWriter, r *http.Request) {
	id, err := enroll.ParseClassID(r.PathValue("classId"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	thumbs, err := queryBool(r, "thumbnails")
	if err != nil {
		WriteError(w, r, err)
		return
	}
	st, err := d.Enroll.Status(r.Context(), tenant(r), id, thumbs)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (d *Deps) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	id, err := enroll.ParseClassID(r.PathValue("classId"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := d.enrolment().Delete(r.Context(), tenant(r), w.Header().Get("X-Request-Id"), id); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
