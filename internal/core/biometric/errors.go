package biometric

import (
	"errors"
	"fmt"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/ml/decode"
)

// Error is the service's typed error (fault.Error).
//
// Compatibility shim: use fault.Error.
type Error = fault.Error

// Stable error codes of this package (aliases of the fault codes, kept for
// the callers written before package fault).
const (
	CodeInvalidRequest   = fault.CodeInvalidRequest
	CodeInvalidImage     = fault.CodeInvalidImage
	CodeImageTooLarge    = fault.CodeImageTooLarge
	CodeUnsupportedImage = fault.CodeUnsupportedImage
	CodeFaceNotFound     = fault.CodeFaceNotFound
	CodeMultipleFaces    = fault.CodeMultipleFaces
	CodeQualityCheck     = fault.CodeQualityCheck
	CodeInvalidTemplate  = fault.CodeInvalidTemplate
	CodeTemplateVersion  = fault.CodeTemplateVersion
	CodeInternal         = fault.CodeInternal
)

// Invalid reports a malformed request.
//
// Compatibility shim: use fault.Invalid.
func Invalid(format string, args ...any) *Error { return fault.Invalid(format, args...) }

// imageError classifies a decoding failure; label names the image ("candidateImage").
func imageError(label string, err error) *Error {
	e := fault.Wrap(fault.CodeInternal, fmt.Sprintf("%s: %v", label, err), err)
	switch {
	case errors.Is(err, decode.ErrTooLarge):
		e.Code = fault.CodeImageTooLarge
	case errors.Is(err, decode.ErrUnsupported):
		e.Code = fault.CodeUnsupportedImage
	case errors.Is(err, decode.ErrCorrupt), errors.Is(err, decode.ErrEmpty):
		e.Code = fault.CodeInvalidImage
	}
	return e
}

func templateError(label string, err error) *Error {
	e := fault.Wrap(fault.CodeInvalidTemplate, fmt.Sprintf("%s: %v", label, err), err)
	if errors.Is(err, template.ErrEncoderMismatch) || errors.Is(err, template.ErrUnsupportedFormat) {
		e.Code = fault.CodeTemplateVersion
	}
	return e
}
