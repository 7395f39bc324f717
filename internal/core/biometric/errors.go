package biometric

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/ml/decode"
)

// Error is a failure the caller can act on: it carries the HTTP status, a
// stable machine-readable code and a message meant for an integrator.
type Error struct {
	Status  int
	Code    string
	Message string
	// Check names the failed quality check of a QUALITY_CHECK_FAILED error.
	Check string
	Err   error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Stable error codes (docs/api.md lists them).
const (
	CodeInvalidRequest   = "INVALID_REQUEST"
	CodeInvalidImage     = "INVALID_IMAGE"
	CodeImageTooLarge    = "IMAGE_TOO_LARGE"
	CodeUnsupportedImage = "UNSUPPORTED_IMAGE_FORMAT"
	CodeFaceNotFound     = "FACE_NOT_FOUND"
	CodeMultipleFaces    = "MULTIPLE_FACES_FOUND"
	CodeQualityCheck     = "QUALITY_CHECK_FAILED"
	CodeInvalidTemplate  = "INVALID_TEMPLATE"
	CodeTemplateVersion  = "TEMPLATE_VERSION_MISMATCH"
	CodeInternal         = "INTERNAL_ERROR"
)

// Invalid reports a malformed request.
func Invalid(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// imageError classifies a decoding failure; label names the image ("candidateImage").
func imageError(label string, err error) *Error {
	e := &Error{Status: decode.StatusCode(err), Err: err, Message: fmt.Sprintf("%s: %v", label, err)}
	switch {
	case errors.Is(err, decode.ErrTooLarge):
		e.Code = CodeImageTooLarge
	case errors.Is(err, decode.ErrUnsupported):
		e.Code = CodeUnsupportedImage
	case errors.Is(err, decode.ErrCorrupt), errors.Is(err, decode.ErrEmpty):
		e.Code = CodeInvalidImage
	default:
		e.Code, e.Status = CodeInternal, http.StatusInternalServerError
	}
	return e
}

func templateError(label string, err error) *Error {
	e := &Error{Status: http.StatusBadRequest, Code: CodeInvalidTemplate, Err: err, Message: fmt.Sprintf("%s: %v", label, err)}
	if errors.Is(err, template.ErrEncoderMismatch) || errors.Is(err, template.ErrUnsupportedFormat) {
		e.Code = CodeTemplateVersion
	}
	return e
}
