package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/template"
)

// CodeInvalidSignature is the error code of a face JSON whose signature
// does not verify against the service's keys, or is not the signature of
// that face.
const CodeInvalidSignature = "INVALID_SIGNATURE"

// keySet is the JWK Set the service publishes (and verifies with).
func (d *Deps) keySet() signing.JWKS {
	signers := d.Signers
	if len(signers) == 0 && d.Signer != nil {
		signers = []*signing.Signer{d.Signer}
	}
	return signing.JWKSOf(signers...)
}

func invalidSignature(format string, args ...any) error {
	return &biometric.Error{Status: http.StatusBadRequest, Code: CodeInvalidSignature, Message: fmt.Sprintf(format, args...)}
}

// signedFace is what checkFaceSignature compares between a face JSON and
// the face its signature was made for.
type signedFace struct {
	Template  string `json:"template"`
	ImageType string `json:"imageType"`
	Quality   int    `json:"quality"`
}

// checkFaceSignature verifies the signature of a face JSON a client sends
// back (label names it in messages): no signature is accepted (faces may be
// created with signatureDisabled), but one that is present must be a JWS of
// the service's keys over a face with the same template (compared by
// digest), image type and quality; anything else is INVALID_SIGNATURE.
func (d *Deps) checkFaceSignature(label string, ref *referenceJSON, tpl template.Template) error {
	if ref.Signature == "" {
		return nil
	}
	payload, err := signing.Verify(ref.Signature, d.keySet())
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
