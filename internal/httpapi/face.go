package httpapi

import (
	"net/http"
	"time"

	"github.com/facelambda/facelambda/internal/biometric"
)

// FaceSpec is the "face" JSON part of a face-creation request.
type FaceSpec struct {
	ImageType            string `json:"imageType"`
	FriendlyName         string `json:"friendlyName"`
	Mode                 string `json:"mode"`
	ImageRotationEnabled *bool  `json:"imageRotationEnabled"`
	CorrelationID        string `json:"correlationId"`
	QualityMode          string `json:"qualityMode"`
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

// FaceHandler serves the face function: POST /v2/faces.
func FaceHandler(s *biometric.Service) http.Handler {
	rt := newRouter()
	rt.handle("POST", "/v2/faces", func(w http.ResponseWriter, r *http.Request) {
		f, err := createFace(w, r, s)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, f)
	})
	return rt
}

func createFace(w http.ResponseWriter, r *http.Request, s *biometric.Service) (*Face, error) {
	form, err := readForm(w, r, "image")
	if err != nil {
		return nil, err
	}
	var spec FaceSpec
	if _, err := form.object("face", &spec); err != nil {
		return nil, err
	}
	// Top-level fields (JSON bodies, form fields) fill what the face part left out.
	for name, dst := range map[string]*string{"imageType": &spec.ImageType, "friendlyName": &spec.FriendlyName,
		"mode": &spec.Mode, "correlationId": &spec.CorrelationID, "qualityMode": &spec.QualityMode} {
		if *dst == "" {
			*dst = form.fields[name]
		}
	}
	if spec.ImageRotationEnabled == nil {
		if _, ok := form.fields["imageRotationEnabled"]; ok {
			v, err := form.boolField("imageRotationEnabled")
			if err != nil {
				return nil, err
			}
			spec.ImageRotationEnabled = &v
		}
	}
	if spec.Mode != "" && spec.Mode != s.Encoder() {
		return nil, biometric.Invalid("mode %q is not available; this service runs %s", spec.Mode, s.Encoder())
	}
	it, err := biometric.ParseImageType(spec.ImageType)
	if err != nil {
		return nil, err
	}
	qm, err := biometric.ParseQualityMode(spec.QualityMode)
	if err != nil {
		return nil, err
	}
	img, err := form.image("image")
	if err != nil {
		return nil, err
	}
	a, err := s.Analyze(img, biometric.Options{ImageType: it, QualityMode: qm, Single: true, Label: "image",
		RotationEnabled: spec.ImageRotationEnabled != nil && *spec.ImageRotationEnabled})
	if err != nil {
		return nil, err
	}
	f := faceFromAnalysis(s, a, it, spec, s.Now())
	return &f, nil
}
