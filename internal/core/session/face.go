package session

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/uid"
	"github.com/facelambda/facelambda/internal/ml/decode"
	"github.com/facelambda/facelambda/internal/ml/raster"
)

// TemplateVersion is the template format version reported as templateVersion.
const TemplateVersion = 1

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

// Face is the face resource, with the box, all five points, the number of
// faces found and the quality measures. Its JSON without the template is
// what the records store keeps of a face.
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

// SetSignature sets the resource's signature (signing.Signable).
func (f *Face) SetSignature(sig string) { f.Signature = sig }

// FaceOf is the face resource of an analysed image of type t (a new id,
// created now).
func FaceOf(bio *biometric.Service, a *biometric.Analysis, t biometric.ImageType, spec FaceSpec, now time.Time) Face {
	lm, box, m := a.Landmarks, a.Box, a.Measures
	return Face{
		ID: uid.New(), FriendlyName: nilIfEmpty(spec.FriendlyName), Digest: a.Digest,
		Mode: bio.Encoder(), ImageType: t, Quality: a.Quality, Landmarks: &lm,
		Template: a.Template.Base64(), TemplateVersion: TemplateVersion, Encoder: a.Template.Encoder,
		ImageRotationEnabled: spec.ImageRotationEnabled, ImageRotation: a.Rotation,
		CorrelationID: nilIfEmpty(spec.CorrelationID), Box: &box, FacesFound: a.FaceCount,
		QualityMeasures: &m, ImageWidth: a.Width, ImageHeight: a.Height, Created: now.UTC(),
	}
}

// FaceInput is a face to create: an image (its bytes, or the key of an
// upload) described by Spec, or a face JSON carrying a template.
type FaceInput struct {
	Spec     FaceSpec
	Image    []byte
	ImageKey string
	FromJSON *Reference
	// RequestID is the request's transaction id (the face's refid).
	RequestID string
}

// analyze runs the pipeline on the input's image (consuming an upload).
func (s *Service) analyze(ctx context.Context, tenant string, in *FaceInput) (*biometric.Analysis, biometric.ImageType, error) {
	if in.Spec.Mode != "" && in.Spec.Mode != s.Bio.Encoder() {
		return nil, "", fault.Invalid("mode %q is not available; this service runs %s", in.Spec.Mode, s.Bio.Encoder())
	}
	it, err := biometric.ParseImageType(in.Spec.ImageType)
	if err != nil {
		return nil, "", err
	}
	qm, err := biometric.ParseQualityMode(in.Spec.QualityMode)
	if err != nil {
		return nil, "", err
	}
	if in.Image == nil && in.ImageKey != "" {
		if in.Image, err = s.fetchUpload(ctx, tenant, in.ImageKey); err != nil {
			return nil, "", err
		}
	}
	a, err := s.Bio.Analyze(in.Image, biometric.Options{ImageType: it, QualityMode: qm, Single: true, Label: "image",
		RotationEnabled: in.Spec.ImageRotationEnabled != nil && *in.Spec.ImageRotationEnabled})
	return a, it, err
}

// CreateFace makes a face from an image without keeping it (a direct
// face), signed unless its spec disables signatures.
func (s *Service) CreateFace(ctx context.Context, tenant string, in FaceInput) (*Face, error) {
	if in.FromJSON != nil {
		return nil, fault.Invalid("POST /v2/faces creates a face from an image; to add a face JSON use POST /v2/bio-sessions/{id}/faces")
	}
	a, it, err := s.analyze(ctx, tenant, &in)
	if err != nil {
		return nil, err
	}
	if in.ImageKey != "" {
		_ = s.Blobs.Delete(ctx, in.ImageKey) // the upload has served its purpose
	}
	f := FaceOf(s.Bio, a, it, in.Spec, s.now())
	f.RefID = in.RequestID
	if !in.Spec.SignatureDisabled {
		if err := s.Signer.SignInto(&f); err != nil {
			return nil, err
		}
	}
	q := float64(f.Quality)
	s.emit(ctx)(events.NewFaceCreated(tenant, events.FaceData{FaceID: f.ID, Quality: &q, RefID: f.RefID}))
	return &f, nil
}

// AddFace adds a face to the session sess (as Open returned it): made from
// an image, kept when the session keeps images, or from a face JSON whose
// template (and signature, when it has one) is checked. It is signed
// unless its spec disables signatures.
func (s *Service) AddFace(ctx context.Context, sess store.Session, in FaceInput) (*Face, error) {
	t, now := sess.Tenant, s.now()
	var f Face
	var tplBytes, image []byte
	if ref := in.FromJSON; ref != nil {
		tpl, it, err := s.checkReference("", ref)
		if err != nil {
			return nil, err
		}
		// The image's digest is not the service's to vouch for: it is not kept.
		corr := ref.CorrelationID
		if corr == "" {
			corr = sess.CorrelationID
		}
		f = Face{FriendlyName: nilIfEmpty(ref.FriendlyName), Mode: s.Bio.Encoder(), ImageType: it,
			Quality: ref.Quality, Landmarks: ref.Landmarks, TemplateVersion: TemplateVersion, Encoder: tpl.Encoder,
			CorrelationID: nilIfEmpty(corr), Created: now}
		tplBytes, _ = tpl.MarshalBinary()
	} else {
		a, it, err := s.analyze(ctx, t, &in)
		if err != nil {
			return nil, err
		}
		if in.Spec.CorrelationID == "" {
			in.Spec.CorrelationID = sess.CorrelationID
		}
		f = FaceOf(s.Bio, a, it, in.Spec, now)
		tplBytes, _ = a.Template.MarshalBinary()
		image = in.Image
	}
	saved, err := s.PutFace(ctx, t, sess.ID, f, tplBytes, image, sess.ImageStorage)
	if err != nil {
		return nil, err
	}
	if in.ImageKey != "" {
		_ = s.Blobs.Delete(ctx, in.ImageKey) // the upload has served its purpose
	}
	out, err := resourceOfFace(saved)
	if err != nil {
		return nil, err
	}
	q := float64(f.Quality)
	s.emit(ctx)(events.NewFaceCreated(t, events.FaceData{SessionID: sess.ID, FaceID: saved.ID, Quality: &q, RefID: in.RequestID}))
	if in.Spec.SignatureDisabled {
		return out, nil
	}
	return out, s.Signer.SignInto(out)
}

// PutFace stores f (with a new id) and its template in the session, and
// its image when the session keeps images.
func (s *Service) PutFace(ctx context.Context, tenant, sid string, f Face, tpl, image []byte, imageStorage bool) (store.Face, error) {
	f.ID = uid.New()
	f.Template = ""
	meta, err := json.Marshal(f)
	if err != nil {
		return store.Face{}, fmt.Errorf("encode face: %w", err)
	}
	rec := store.Face{Tenant: tenant, SessionID: sid, ID: f.ID, Created: f.Created, Data: meta, Template: tpl,
		HasImage: imageStorage && image != nil}
	if rec.HasImage {
		if err := s.Blobs.Put(ctx, FaceImageKey(tenant, sid, f.ID), image, imageContentType(image)); err != nil {
			return store.Face{}, fmt.Errorf("store face image: %w", err)
		}
	}
	saved, err := s.Records.PutFace(ctx, rec)
	if err != nil {
		if rec.HasImage {
			_ = s.Blobs.Delete(ctx, FaceImageKey(tenant, sid, f.ID))
		}
		return store.Face{}, storeError(err, "bio-session")
	}
	return saved, nil
}

// FaceImageKey is where a stored face image lives in the blob store.
func FaceImageKey(tenant, session, face string) string {
	return store.SessionBlobPrefix(tenant, session) + face + ".img"
}

// resourceOfFace rebuilds the face resource from its record.
func resourceOfFace(rec store.Face) (*Face, error) {
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

// Faces returns the faces of a session, oldest first, each signed.
func (s *Service) Faces(ctx context.Context, tenant, sid string) ([]*Face, error) {
	recs, err := s.Records.ListFaces(ctx, tenant, sid)
	if err != nil {
		return nil, storeError(err, "bio-session")
	}
	out := make([]*Face, 0, len(recs))
	for _, rec := range recs {
		f, err := resourceOfFace(rec)
		if err != nil {
			return nil, err
		}
		if err := s.Signer.SignInto(f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Face returns a face of a session, signed.
func (s *Service) Face(ctx context.Context, tenant, sid, fid string) (*Face, error) {
	rec, err := s.Records.GetFace(ctx, tenant, sid, fid)
	if err != nil {
		return nil, storeError(err, "face")
	}
	f, err := resourceOfFace(rec)
	if err != nil {
		return nil, err
	}
	return f, s.Signer.SignInto(f)
}

// DeleteFace removes a face of a session and its image.
func (s *Service) DeleteFace(ctx context.Context, tenant, sid, fid string) error {
	rec, err := s.Records.GetFace(ctx, tenant, sid, fid)
	if err != nil {
		return storeError(err, "face")
	}
	if err := s.Records.DeleteFace(ctx, tenant, sid, fid); err != nil {
		return storeError(err, "face")
	}
	if rec.HasImage {
		if err := s.Blobs.Delete(ctx, FaceImageKey(tenant, sid, fid)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// DeleteFaces removes every face of a session and their images; the
// session stays.
func (s *Service) DeleteFaces(ctx context.Context, tenant, sid string) error {
	if _, err := s.Open(ctx, tenant, sid); err != nil {
		return err
	}
	if _, err := s.Records.DeleteFaces(ctx, tenant, sid); err != nil {
		return storeError(err, "bio-session")
	}
	return s.Blobs.DeletePrefix(ctx, store.SessionBlobPrefix(tenant, sid))
}

// FaceImage returns the stored image of a face and its content type,
// re-encoded as a JPEG when compress is set; nil (and no error) when the
// session keeps no images or the face has none.
func (s *Service) FaceImage(ctx context.Context, tenant, sid, fid string, compress bool) ([]byte, string, error) {
	sess, err := s.Open(ctx, tenant, sid)
	if err != nil {
		return nil, "", err
	}
	rec, err := s.Records.GetFace(ctx, tenant, sid, fid)
	if err != nil {
		return nil, "", storeError(err, "face")
	}
	if !sess.ImageStorage || !rec.HasImage {
		return nil, "", nil
	}
	img, ct, err := s.Blobs.Get(ctx, FaceImageKey(tenant, sid, fid))
	if err != nil {
		return nil, "", storeError(err, "face image")
	}
	if compress {
		if img, err = toJPEG(img); err != nil {
			return nil, "", err
		}
		ct = "image/jpeg"
	}
	return img, ct, nil
}

// toJPEG re-encodes a stored image as a quality-85 JPEG.
func toJPEG(b []byte) ([]byte, error) {
	res, err := decode.Decode(b, decode.Options{})
	if err != nil {
		return nil, err
	}
	return raster.EncodeJPEG(res.Image, 85)
}
