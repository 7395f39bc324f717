package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/raster"

	"github.com/facelambda/facelambda/internal/core/biometric"
)

// FaceSpec is the "face" JSON part of a face-creation request.
type FaceSpec struct {
	ImageType            string `json:"imageType"`
	FriendlyName         string `json:"friendlyName"`
	Mode                 string `json:"mode"`
	ImageRotationEnabled *bool  `json:"imageRotationEnabled"`
	CorrelationID        string `json:"correlationId"`
	QualityMode          string `json:"qualityMode"`
	SignatureDisabled    bool   `json:"signatureDisabled"`
	// ImageKey names an image uploaded through POST /v2/uploads, in place
	// of an image part.
	ImageKey string `json:"imageKey"`
}

// Face is the face resource of seed 000, plus the box, all five points, the
// number of faces found and the quality measures.
type Face struct {
	ID                   string               `json:"id"`
	FriendlyName         *string              `json:"friendlyName"`
	Digest               string               `json:"digest,omitempty"`
	Mode                 string               `json:"mode"`
	ImageType            biometric.ImageType  `json:"imageType"`
	Quality              int                  `json:"quality"`
	Landmarks            *biometric.Landmarks `json:"landmarks,omitempty"`
	Template             string               `json:"template,omitempty"`
	TemplateVersion      int                  `json:"templateVersion"`
	Encoder              string               `json:"encoder"`
	ImageRotationEnabled *bool                `json:"imageRotationEnabled"`
	ImageRotation        int                  `json:"imageRotation"`
	CorrelationID        *string              `json:"correlationId"`
	Box                  *biometric.Box       `json:"box,omitempty"`
	FacesFound           int                  `json:"facesFound,omitempty"`
	QualityMeasures      *biometric.Measures  `json:"qualityMeasures,omitempty"`
	ImageWidth           int                  `json:"imageWidth,omitempty"`
	ImageHeight          int                  `json:"imageHeight,omitempty"`
	Created              time.Time            `json:"created"`
	Expires              *time.Time           `json:"expires,omitempty"`
	// RefID is the transaction id of a direct face creation (X-Request-Id).
	RefID     string `json:"refid,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// TemplateVersion is the template format version reported as templateVersion.
const TemplateVersion = 1

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func faceFromAnalysis(s *biometric.Service, a *biometric.Analysis, t biometric.ImageType, spec FaceSpec, now time.Time) Face {
	lm, box, m := a.Landmarks, a.Box, a.Measures
	return Face{
		ID: biometric.NewID(), FriendlyName: nilIfEmpty(spec.FriendlyName), Digest: a.Digest,
		Mode: s.Encoder(), ImageType: t, Quality: a.Quality, Landmarks: &lm,
		Template: a.Template.Base64(), TemplateVersion: TemplateVersion, Encoder: a.Template.Encoder,
		ImageRotationEnabled: spec.ImageRotationEnabled, ImageRotation: a.Rotation,
		CorrelationID: nilIfEmpty(spec.CorrelationID), Box: &box, FacesFound: a.FaceCount,
		QualityMeasures: &m, ImageWidth: a.Width, ImageHeight: a.Height, Created: now.UTC(),
	}
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

// faceRequest is a parsed face-creation request: an image (bytes or an
// uploaded key) with its spec, or a face JSON carrying a template.
type faceRequest struct {
	spec     FaceSpec
	image    []byte
	imageKey string
	fromJSON *referenceJSON
}

func (d *Deps) readFaceRequest(w http.ResponseWriter, r *http.Request) (*faceRequest, error) {
	form, err := readForm(w, r, "image")
	if err != nil {
		return nil, err
	}
	if err := form.only(faceFields); err != nil {
		return nil, err
	}
	req := &faceRequest{}
	if _, err := form.object("face", &req.spec); err != nil {
		return nil, err
	}
	// Top-level fields (JSON bodies, form fields) fill what the face part left out.
	for name, dst := range map[string]*string{"imageType": &req.spec.ImageType, "friendlyName": &req.spec.FriendlyName,
		"mode": &req.spec.Mode, "correlationId": &req.spec.CorrelationID, "qualityMode": &req.spec.QualityMode,
		"imageKey": &req.spec.ImageKey} {
		if *dst == "" {
			*dst = form.fields[name]
		}
	}
	for name, dst := range map[string]**bool{"imageRotationEnabled": &req.spec.ImageRotationEnabled} {
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
	if !req.spec.SignatureDisabled {
		if req.spec.SignatureDisabled, err = form.boolField("signatureDisabled"); err != nil {
			return nil, err
		}
	}
	if tpl, ok := form.fields["template"]; ok && tpl != "" {
		// CreateFaceFromJson: the whole JSON body is a face with a template.
		var ref referenceJSON
		raw, err := json.Marshal(form.fieldsAsJSON())
		if err != nil {
			return nil, internalErr(err)
		}
		if err := json.Unmarshal(raw, &ref); err != nil {
			return nil, biometric.Invalid("the face JSON does not fit the face resource: %v", err)
		}
		if err := checkStrings("", &ref); err != nil {
			return nil, err
		}
		req.fromJSON = &ref
		return req, nil
	}
	if b, ok := form.files["image"]; ok {
		req.image = b
	} else if req.spec.ImageKey != "" {
		req.imageKey = req.spec.ImageKey
	} else {
		return nil, biometric.Invalid("the image part is missing (or give imageKey of an upload, or a face JSON with a template)")
	}
	return req, nil
}

// faceFields are the fields of a face creation: the face part, the image
// part, the face part's members at the top level, and the members of the
// face resource (a face JSON created before, as CreateFaceFromJson sends
// it; the ones the service computes itself are accepted and ignored).
var faceFields = fieldsOf([]any{FaceSpec{}, Face{}, referenceJSON{}}, "face", "image")

// analyze runs the pipeline on the request's image (fetching an uploaded one).
func (d *Deps) analyze(r *http.Request, req *faceRequest) (*biometric.Analysis, biometric.ImageType, error) {
	if req.spec.Mode != "" && req.spec.Mode != d.Bio.Encoder() {
		return nil, "", biometric.Invalid("mode %q is not available; this service runs %s", req.spec.Mode, d.Bio.Encoder())
	}
	it, err := biometric.ParseImageType(req.spec.ImageType)
	if err != nil {
		return nil, "", err
	}
	qm, err := biometric.ParseQualityMode(req.spec.QualityMode)
	if err != nil {
		return nil, "", err
	}
	if req.image == nil && req.imageKey != "" {
		if req.image, err = d.fetchUpload(r, req.imageKey); err != nil {
			return nil, "", err
		}
	}
	a, err := d.Bio.Analyze(req.image, biometric.Options{ImageType: it, QualityMode: qm, Single: true, Label: "image",
		RotationEnabled: req.spec.ImageRotationEnabled != nil && *req.spec.ImageRotationEnabled})
	return a, it, err
}

func (d *Deps) createDirectFace(w http.ResponseWriter, r *http.Request) {
	tenant(r)
	req, err := d.readFaceRequest(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.fromJSON != nil {
		writeError(w, r, biometric.Invalid("POST /v2/faces creates a face from an image; to add a face JSON use POST /v2/bio-sessions/{id}/faces"))
		return
	}
	a, it, err := d.analyze(r, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.imageKey != "" {
		_ = d.Blobs.Delete(r.Context(), req.imageKey) // the upload has served its purpose
	}
	f := faceFromAnalysis(d.Bio, a, it, req.spec, d.now())
	f.RefID = w.Header().Get("X-Request-Id")
	if !req.spec.SignatureDisabled {
		if err := d.sign(&f); err != nil {
			writeError(w, r, internalErr(err))
			return
		}
	}
	writeJSON(w, http.StatusOK, &f)
	q := float64(f.Quality)
	d.emit(r.Context())(events.NewFaceCreated(tenant(r), events.FaceData{FaceID: f.ID, Quality: &q, RefID: f.RefID}))
}

func (d *Deps) createSessionFace(w http.ResponseWriter, r *http.Request) {
	t, sid := tenant(r), r.PathValue("id")
	sess, err := d.Records.GetSession(r.Context(), t, sid)
	if err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	req, err := d.readFaceRequest(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	now := d.now()
	var f Face
	var tplBytes, image []byte
	if ref := req.fromJSON; ref != nil {
		if ref.TemplateVersion != nil && *ref.TemplateVersion != TemplateVersion {
			writeError(w, r, &biometric.Error{Status: http.StatusBadRequest, Code: biometric.CodeTemplateVersion,
				Message: fmt.Sprintf("templateVersion %d is not supported (current templateVersion %d); re-create the face from an image", *ref.TemplateVersion, TemplateVersion)})
			return
		}
		tpl, err := d.Bio.ParseTemplate("template", ref.Template)
		if err == nil {
			err = d.checkFaceSignature("signature", ref, tpl)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		it, err := biometric.ParseImageType(ref.ImageType)
		if err != nil {
			writeError(w, r, err)
			return
		}
		// The image's digest is not the service's to vouch for: it is not kept.
		corr := ref.CorrelationID
		if corr == "" {
			corr = sess.CorrelationID
		}
		f = Face{FriendlyName: nilIfEmpty(ref.FriendlyName), Mode: d.Bio.Encoder(), ImageType: it,
			Quality: ref.Quality, Landmarks: ref.Landmarks, TemplateVersion: TemplateVersion, Encoder: tpl.Encoder,
			CorrelationID: nilIfEmpty(corr), Created: now}
		tplBytes, _ = tpl.MarshalBinary()
	} else {
		a, it, err := d.analyze(r, req)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if req.spec.CorrelationID == "" {
			req.spec.CorrelationID = sess.CorrelationID
		}
		f = faceFromAnalysis(d.Bio, a, it, req.spec, now)
		tplBytes, _ = a.Template.MarshalBinary()
		image = req.image
	}
	saved, err := d.putSessionFace(r.Context(), t, sid, f, tplBytes, image, sess.ImageStorage)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.imageKey != "" {
		_ = d.Blobs.Delete(r.Context(), req.imageKey) // the upload has served its purpose
	}
	out, err := faceOf(saved)
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	f.ID = saved.ID
	q := float64(f.Quality)
	d.emit(r.Context())(events.NewFaceCreated(t, events.FaceData{SessionID: sid, FaceID: f.ID, Quality: &q, RefID: w.Header().Get("X-Request-Id")}))
	w.Header().Set("Location", "/v2/bio-sessions/"+sid+"/faces/"+f.ID)
	if req.spec.SignatureDisabled {
		writeJSON(w, http.StatusCreated, out)
		return
	}
	d.writeSigned(w, r, http.StatusCreated, out)
}

// putSessionFace stores f (with a new id) and its template in the session,
// and its image when the session keeps images.
func (d *Deps) putSessionFace(ctx context.Context, t, sid string, f Face, tpl, image []byte, imageStorage bool) (store.Face, error) {
	f.ID = biometric.NewID()
	f.Template = ""
	meta, err := json.Marshal(f)
	if err != nil {
		return store.Face{}, internalErr(err)
	}
	rec := store.Face{Tenant: t, SessionID: sid, ID: f.ID, Created: f.Created, Data: meta, Template: tpl,
		HasImage: imageStorage && image != nil}
	if rec.HasImage {
		if err := d.Blobs.Put(ctx, FaceImageKey(t, sid, f.ID), image, http.DetectContentType(image)); err != nil {
			return store.Face{}, internalErr(fmt.Errorf("store face image: %w", err))
		}
	}
	saved, err := d.Records.PutFace(ctx, rec)
	if err != nil {
		if rec.HasImage {
			_ = d.Blobs.Delete(ctx, FaceImageKey(t, sid, f.ID))
		}
		return store.Face{}, storeError(err, "bio-session")
	}
	return saved, nil
}

// FaceImageKey is where a stored face image lives in the blob store.
func FaceImageKey(tenant, session, face string) string {
	return SessionPrefix(tenant, session) + face + ".img"
}

// faceOf rebuilds the face resource from its record.
func faceOf(rec store.Face) (*Face, error) {
	var f Face
	if err := json.Unmarshal(rec.Data, &f); err != nil {
		return nil, fmt.Errorf("face %s: %w", rec.ID, err)
	}
	f.ID = rec.ID
	f.Template = base64.StdEncoding.EncodeToString(rec.Template)
	exp := rec.Expires.UTC()
	f.Expires = &exp
	f.Signature = ""
	return &f, nil
}

func (d *Deps) listFaces(w http.ResponseWriter, r *http.Request) {
	recs, err := d.Records.ListFaces(r.Context(), tenant(r), r.PathValue("id"))
	if err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	out := make([]*Face, 0, len(recs))
	for _, rec := range recs {
		f, err := faceOf(rec)
		if err != nil {
			writeError(w, r, internalErr(err))
			return
		}
		if err := d.sign(f); err != nil {
			writeError(w, r, internalErr(err))
			return
		}
		out = append(out, f)
	}
	writeJSON(w, http.StatusOK, out)
}

func (d *Deps) getFace(w http.ResponseWriter, r *http.Request) {
	rec, err := d.Records.GetFace(r.Context(), tenant(r), r.PathValue("id"), r.PathValue("faceId"))
	if err != nil {
		writeError(w, r, storeError(err, "face"))
		return
	}
	f, err := faceOf(rec)
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	d.writeSigned(w, r, http.StatusOK, f)
}

func (d *Deps) deleteFace(w http.ResponseWriter, r *http.Request) {
	t, sid, fid := tenant(r), r.PathValue("id"), r.PathValue("faceId")
	rec, err := d.Records.GetFace(r.Context(), t, sid, fid)
	if err != nil {
		writeError(w, r, storeError(err, "face"))
		return
	}
	if err := d.Records.DeleteFace(r.Context(), t, sid, fid); err != nil {
		writeError(w, r, storeError(err, "face"))
		return
	}
	if rec.HasImage {
		if err := d.Blobs.Delete(r.Context(), FaceImageKey(t, sid, fid)); err != nil && !errors.Is(err, store.ErrNotFound) {
			writeError(w, r, internalErr(err))
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (d *Deps) deleteFaces(w http.ResponseWriter, r *http.Request) {
	t, sid := tenant(r), r.PathValue("id")
	if _, err := d.Records.GetSession(r.Context(), t, sid); err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	if _, err := d.Records.DeleteFaces(r.Context(), t, sid); err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	if err := d.Blobs.DeletePrefix(r.Context(), SessionPrefix(t, sid)); err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (d *Deps) getFaceImage(w http.ResponseWriter, r *http.Request) {
	t, sid, fid := tenant(r), r.PathValue("id"), r.PathValue("faceId")
	compress, err := queryBool(r, "compression")
	if err != nil {
		writeError(w, r, err)
		return
	}
	sess, err := d.Records.GetSession(r.Context(), t, sid)
	if err != nil {
		writeError(w, r, storeError(err, "bio-session"))
		return
	}
	rec, err := d.Records.GetFace(r.Context(), t, sid, fid)
	if err != nil {
		writeError(w, r, storeError(err, "face"))
		return
	}
	if !sess.ImageStorage || !rec.HasImage {
		w.WriteHeader(http.StatusNoContent) // seed 000: storage is not enabled for the bio-session
		return
	}
	img, ct, err := d.Blobs.Get(r.Context(), FaceImageKey(t, sid, fid))
	if err != nil {
		writeError(w, r, storeError(err, "face image"))
		return
	}
	if compress {
		if img, err = toJPEG(img); err != nil {
			writeError(w, r, internalErr(err))
			return
		}
		ct = "image/jpeg"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(img)
}

// toJPEG re-encodes a stored image as a quality-85 JPEG.
func toJPEG(b []byte) ([]byte, error) {
	res, err := decode.Decode(b, decode.Options{})
	if err != nil {
		return nil, err
	}
	return raster.EncodeJPEG(res.Image, 85)
}

// Upload is a presigned upload slot for an image too large for a
// synchronous request.
type Upload struct {
	Key      string            `json:"key"`
	URL      string            `json:"url"`
	Method   string            `json:"method"`
	Headers  map[string]string `json:"headers"`
	MaxBytes int64             `json:"maxBytes"`
	Expires  time.Time         `json:"expires"`
}

func (d *Deps) createUpload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ContentType string `json:"contentType"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(w, r, 4<<10, &req); err != nil {
			writeError(w, r, err)
			return
		}
	}
	switch req.ContentType {
	case "":
		req.ContentType = "image/jpeg"
	case "image/jpeg", "image/png", "image/webp", "image/gif":
	default:
		writeError(w, r, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "contentType must be image/jpeg, image/png, image/webp or image/gif"))
		return
	}
	key := uploadPrefix(tenant(r)) + biometric.NewID()
	u, err := d.Blobs.PresignPut(r.Context(), key, req.ContentType, maxImageBytes, d.Config.UploadTTL)
	if err != nil {
		writeError(w, r, internalErr(err))
		return
	}
	w.Header().Set("Location", u)
	writeJSON(w, http.StatusCreated, Upload{Key: key, URL: u, Method: http.MethodPut,
		Headers: map[string]string{"Content-Type": req.ContentType}, MaxBytes: maxImageBytes, Expires: d.now().Add(d.Config.UploadTTL)})
}

// CodeUploadUsed answers a request naming an upload that another request
// already consumed (410).
const CodeUploadUsed = "UPLOAD_ALREADY_USED"

// uploadClaimTTL is how long the claim of a consumed upload is kept: as
// long as the bucket keeps an unconsumed upload (template.yaml).
const uploadClaimTTL = 48 * time.Hour

// fetchUpload reads an uploaded image; another tenant's key is not found.
// An upload serves one request: the first to claim it (atomically, in the
// records store) consumes it, whatever the outcome, and every other use
// of the key gets 410 UPLOAD_ALREADY_USED.
func (d *Deps) fetchUpload(r *http.Request, key string) ([]byte, error) {
	if !strings.HasPrefix(key, uploadPrefix(tenant(r))) || store.CheckBlobKey(key) != nil {
		return nil, errorf(http.StatusNotFound, CodeNotFound, "upload not found")
	}
	if err := d.Records.Claim(r.Context(), tenant(r), key, d.now().Add(uploadClaimTTL)); errors.Is(err, store.ErrExists) {
		return nil, errorf(http.StatusGone, CodeUploadUsed, "the upload was already used: an upload serves one request; create a new one")
	} else if err != nil {
		return nil, internalErr(err)
	}
	defer func() { _ = d.Blobs.Delete(context.WithoutCancel(r.Context()), key) }() // consumed
	// A presigned PUT cannot limit the size: check it before reading.
	sizer, ok := d.Blobs.(store.Sizer)
	if !ok {
		return nil, internalErr(errors.New("blob store cannot report sizes"))
	}
	n, err := sizer.Size(r.Context(), key)
	if err != nil {
		return nil, storeError(err, "upload")
	}
	if n > maxImageBytes {
		_ = d.Blobs.Delete(r.Context(), key)
		return nil, errorf(http.StatusRequestEntityTooLarge, biometric.CodeImageTooLarge, fmt.Sprintf("upload is %d bytes; at most %d", n, maxImageBytes))
	}
	b, _, err := d.Blobs.Get(r.Context(), key)
	if err != nil {
		return nil, storeError(err, "upload")
	}
	if len(b) > maxImageBytes {
		return nil, errorf(http.StatusRequestEntityTooLarge, biometric.CodeImageTooLarge, fmt.Sprintf("upload exceeds %d bytes", maxImageBytes))
	}
	return b, nil
}

// uploadPrefix is the blob-key prefix of a tenant's uploads (expired by the
// bucket's lifecycle rule when not consumed).
func uploadPrefix(tenant string) string { return "uploads/" + tenant + "/" }
