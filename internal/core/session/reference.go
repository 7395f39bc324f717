package session

import (
	"encoding/json"
	"fmt"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/template"
)

// Reference is a face JSON with its template, as a client sends back a
// face it was given (CreateFaceFromJson shape).
type Reference struct {
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
	// face (checkSignature).
	Signature string `json:"signature"`
}

// checkReference checks a face JSON: its template version, its template
// (made by the running encoder), its signature and its image type; prefix
// names it in messages ("reference", or "" for a face JSON body).
func (s *Service) checkReference(prefix string, ref *Reference) (template.Template, biometric.ImageType, error) {
	label := func(field string) string {
		if prefix == "" {
			return field
		}
		return prefix + "." + field
	}
	if ref.TemplateVersion != nil && *ref.TemplateVersion != TemplateVersion {
		what := "templateVersion"
		if prefix != "" {
			what = prefix + " " + what
		}
		return template.Template{}, "", &fault.Error{Code: fault.CodeTemplateVersion,
			Message: fmt.Sprintf("%s %d is not supported (current templateVersion %d); re-create the face from an image", what, *ref.TemplateVersion, TemplateVersion)}
	}
	tpl, err := s.Bio.ParseTemplate(label("template"), ref.Template)
	if err != nil {
		return tpl, "", err
	}
	if err := s.checkSignature(label("signature"), ref, tpl); err != nil {
		return tpl, "", err
	}
	it, err := biometric.ParseImageType(ref.ImageType)
	return tpl, it, err
}

func invalidSignature(format string, args ...any) error {
	return fault.Newf(fault.CodeInvalidSignature, format, args...)
}

// signedFace is what checkSignature compares between a face JSON and the
// face its signature was made for.
type signedFace struct {
	Template  string `json:"template"`
	ImageType string `json:"imageType"`
	Quality   int    `json:"quality"`
}

// checkSignature verifies the signature of a face JSON a client sends back
// (label names it in messages): no signature is accepted (faces may be
// created with signatureDisabled), but one that is present must be a JWS of
// the service's keys over a face with the same template (compared by
// digest), image type and quality; anything else is INVALID_SIGNATURE.
func (s *Service) checkSignature(label string, ref *Reference, tpl template.Template) error {
	if ref.Signature == "" {
		return nil
	}
	payload, err := signing.Verify(ref.Signature, s.Keys)
	if err != nil {
		return invalidSignature("%s: the signature does not verify against this service's keys (%v)", label, err)
	}
	var signed signedFace
	if err := json.Unmarshal(payload, &signed); err != nil || signed.Template == "" {
		return invalidSignature("%s: the signature is not of a face with a template", label)
	}
	st, err := template.ParseBase64(signed.Template, "")
	switch {
	case err != nil || st.Digest() != tpl.Digest():
		return invalidSignature("%s: the signature is of another template", label)
	case signed.ImageType != ref.ImageType:
		return invalidSignature("%s: the signature is of a face of imageType %q, not %q", label, signed.ImageType, ref.ImageType)
	case signed.Quality != ref.Quality:
		return invalidSignature("%s: the signature is of a face of quality %d, not %d", label, signed.Quality, ref.Quality)
	}
	return nil
}
