package biometric

import (
	"errors"
	"fmt"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/template"
	"github.com/facelambda/facelambda/internal/ml/decode"
)

// imageError classifies a decoding failure; label names the image ("candidateImage").
func imageError(label string, err error) *fault.Error {
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

func templateError(label string, err error) *fault.Error {
	e := fault.Wrap(fault.CodeInvalidTemplate, fmt.Sprintf("%s: %v", label, err), err)
	if errors.Is(err, template.ErrEncoderMismatch) || errors.Is(err, template.ErrUnsupportedFormat) {
		e.Code = fault.CodeTemplateVersion
	}
	return e
}
