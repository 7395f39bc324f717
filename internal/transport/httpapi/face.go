package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/session"
	"github.com/facelambda/facelambda/internal/core/store"
)

// FaceSpec is the "face" JSON part of a face-creation request.
type FaceSpec = session.FaceSpec

// Face is the face resource of seed 000, plus the box, all five points, the
// number of faces found and the quality measures.
type Face = session.Face

// TemplateVersion is the template format version reported as templateVersion.
const TemplateVersion = session.TemplateVersion

// faceFromAnalysis is the face resource of an analysed image.
func faceFromAnalysis(s *biometric.Service, a *biometric.Analysis, t biometric.ImageType, spec FaceSpec, now time.Time) Face {
	return session.FaceOf(s, a, t, spec, now)
}

// FaceHandler serves the face function: direct faces, the faces of a
// bio-session, their images, and presigned uploads.
func FaceHandler(d *Deps) http.Handler {
	d.defaults()
	rt := newRouter(d)
	rt.handle("POST", "/v2/faces", auth.ScopeFaceWrite, d.billable("create-face", d.createDirectFace))
	rt.handle("POST", "/v2/bio-sessions/{id}/faces", auth.ScopeFaceWrite, d.billable("create-face", d.createSessionFace))
	rt.handle("GET", "/v2/bio-sessions/{id}/faces", auth.ScopeFaceRead, d.listFaces)
	rt.handle("DELETE", "/v2/bio-sessions/{id}/faces", auth.ScopeFaceWrite, d.deleteFaces)
	rt.handle("GET", "/v2/bio-sessions/{id}/faces/{faceId}", auth.ScopeFaceRead, d.getFace)
	rt.handle("DELETE", "/v2/bio-sessions/{id}/faces/{faceId}", auth.ScopeFaceWrite, d.deleteFace)
	rt.handle("GET", "/v2/bio-sessions/{id}/faces/{faceId}/image", auth.ScopeFaceRead, d.getFaceImage)
	rt.handle("POST", "/v2/uploads", auth.ScopeFaceWrite, d.createUpload)
	return rt
}

// readFaceRequest parses a face-creation request: an image (bytes or an
// uploaded key) with its spec, or a face JSON carrying a template.
func readFaceRequest(w http.ResponseWriter, r *http.Request) (*session.FaceInput, error) {
	form, err := readForm(w, r, "image")
	if err != nil {
		return nil, err
	}
	if err := form.only(faceFields); err != nil {
		return nil, err
	}
	req := &session.FaceInput{RequestID: w.Header().Get("X-Request-Id")}
	if _, err := form.object("face", &req.Spec); err != nil {
		return nil, err
	}
	// Top-level fields (JSON bodies, form fields) fill what the face part left out.
	for name, dst := range map[string]*string{"imageType": &req.Spec.ImageType, "friendlyName": &req.Spec.FriendlyName,
		"mode": &req.Spec.Mode, "correlationId": &req.Spec.CorrelationID, "qualityMode": &req.Spec.QualityMode,
		"imageKey": &req.Spec.ImageKey} {
		if *dst == "" {
			*dst = form.fields[name]
		}
	}
	for name, dst := range map[string]**bool{"imageRotationEnabled": &req.Spec.ImageRotationEnabled} {
		if *dst == nil {
			if _, ok := form.fields[name]; ok {
				v, err := form.boolField(name)
				if err != nil {
					return nil, err
				}
				*dst = &v
			}
		}
	}
	if !req.Spec.SignatureDisabled {
		if req.Spec.SignatureDisabled, err = form.boolField("signatureDisabled"); err != nil {
			return nil, err
		}
	}
	if tpl, ok := form.fields["template"]; ok && tpl != "" {
		// CreateFaceFromJson: the whole JSON body is a face with a template.
		var ref referenceJSON
		raw, err := json.Marshal(form.fieldsAsJSON())
		if err != nil {
			return nil, fault.Internal("", err)
		}
		if err := json.Unmarshal(raw, &ref); err != nil {
			return nil, fault.Invalid("the face JSON does not fit the face resource: %v", err)
		}
		if err := checkStrings("", &ref); err != nil {
			return nil, err
		}
		req.FromJSON = &ref
		return req, nil
	}
	if b, ok := form.files["image"]; ok {
		req.Image = b
	} else if req.Spec.ImageKey != "" {
		req.ImageKey = req.Spec.ImageKey
	} else {
		return nil, fault.Invalid("the image part is missing (or give imageKey of an upload, or a face JSON with a template)")
	}
	return req, nil
}

// faceFields are the fields of a face creation: the face part, the image
// part, the face part's members at the top level, and the members of the
// face resource (a face JSON created before, as CreateFaceFromJson sends
// it; the ones the service computes itself are accepted and ignored).
var faceFields = fieldsOf([]any{FaceSpec{}, Face{}, referenceJSON{}}, "face", "image")

func (d *Deps) createDirectFace(w http.ResponseWriter, r *http.Request) {
	tenant(r)
	req, err := readFaceRequest(w, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	f, err := d.sessions().CreateFace(r.Context(), tenant(r), *req)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (d *Deps) createSessionFace(w http.ResponseWriter, r *http.Request) {
	svc, sid := d.sessions(), r.PathValue("id")
	sess, err := svc.Open(r.Context(), tenant(r), sid)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	req, err := readFaceRequest(w, r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	f, err := svc.AddFace(r.Context(), sess, *req)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v2/bio-sessions/"+sid+"/faces/"+f.ID)
	writeJSON(w, http.StatusCreated, f)
}

// putSessionFace stores f (with a new id) and its template in the session,
// and its image when the session keeps images.
func (d *Deps) putSessionFace(ctx context.Context, t, sid string, f Face, tpl, image []byte, imageStorage bool) (store.Face, error) {
	return d.sessions().PutFace(ctx, t, sid, f, tpl, image, imageStorage)
}

// FaceImageKey is where a stored face image lives in the blob store.
func FaceImageKey(tenant, sid, face string) string { return session.FaceImageKey(tenant, sid, face) }

func (d *Deps) listFaces(w http.ResponseWriter, r *http.Request) {
	out, err := d.sessions().Faces(r.Context(), tenant(r), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (d *Deps) getFace(w http.ResponseWriter, r *http.Request) {
	f, err := d.sessions().Face(r.Context(), tenant(r), r.PathValue("id"), r.PathValue("faceId"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (d *Deps) deleteFace(w http.ResponseWriter, r *http.Request) {
	if err := d.sessions().DeleteFace(r.Context(), tenant(r), r.PathValue("id"), r.PathValue("faceId")); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (d *Deps) deleteFaces(w http.ResponseWriter, r *http.Request) {
	if err := d.sessions().DeleteFaces(r.Context(), tenant(r), r.PathValue("id")); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (d *Deps) getFaceImage(w http.ResponseWriter, r *http.Request) {
	compress, err := queryBool(r, "compression")
	if err != nil {
		WriteError(w, r, err)
		return
	}
	img, ct, err := d.sessions().FaceImage(r.Context(), tenant(r), r.PathValue("id"), r.PathValue("faceId"), compress)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if img == nil {
		w.WriteHeader(http.StatusNoContent) // seed 000: storage is not enabled for the bio-session
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(img)
}

// Upload is a presigned upload slot for an image too large for a
// synchronous request.
type Upload = session.Upload

func (d *Deps) createUpload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ContentType string `json:"contentType"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(w, r, 4<<10, &req); err != nil {
			WriteError(w, r, err)
			return
		}
	}
	u, err := d.sessions().CreateUpload(r.Context(), tenant(r), req.ContentType)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", u.URL)
	writeJSON(w, http.StatusCreated, u)
}
