package httpapi

import (
	"net/http"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// statuses is the one table from the service's error codes to HTTP
// statuses; every code of package fault has a row (status_test.go).
var statuses = map[string]int{
	fault.CodeInvalidRequest:    http.StatusBadRequest,
	fault.CodeFieldTooLong:      http.StatusBadRequest,
	fault.CodeUnknownField:      http.StatusBadRequest,
	fault.CodeDuplicateField:    http.StatusBadRequest,
	fault.CodeConflictingFields: http.StatusBadRequest,
	fault.CodeNotFound:          http.StatusNotFound,
	fault.CodeMethodNotAllowed:  http.StatusMethodNotAllowed,
	fault.CodeUnsupportedMedia:  http.StatusUnsupportedMediaType,
	fault.CodeRequestTooLarge:   http.StatusRequestEntityTooLarge,
	fault.CodeConflict:          http.StatusConflict,

	fault.CodeUnauthenticated: http.StatusUnauthorized,
	fault.CodeForbidden:       http.StatusForbidden,
	fault.CodeTokenInvalid:    http.StatusUnauthorized,
	fault.CodeTokenExpired:    http.StatusUnauthorized,
	fault.CodeTokenScope:      http.StatusForbidden,
	fault.CodeTokenReplayed:   http.StatusConflict,

	fault.CodeInvalidImage:     http.StatusBadRequest,
	fault.CodeImageTooLarge:    http.StatusRequestEntityTooLarge,
	fault.CodeUnsupportedImage: http.StatusUnsupportedMediaType,
	fault.CodeFaceNotFound:     http.StatusBadRequest,
	fault.CodeMultipleFaces:    http.StatusBadRequest,
	fault.CodeQualityCheck:     http.StatusBadRequest,
	fault.CodeInvalidTemplate:  http.StatusBadRequest,
	fault.CodeTemplateVersion:  http.StatusBadRequest,
	fault.CodeInvalidSignature: http.StatusBadRequest,
	fault.CodeUploadUsed:       http.StatusGone,
	fault.CodeTemplateNotFound: http.StatusNotFound,
	fault.CodeTemplateOutdated: http.StatusConflict,
	fault.CodeGalleryExists:    http.StatusConflict,

	fault.CodeDecryptionFailed:     http.StatusBadRequest,
	fault.CodeWrongSession:         http.StatusBadRequest,
	fault.CodeNoLivenessParameters: http.StatusConflict,
	fault.CodeLivenessExpired:      http.StatusBadRequest,
	fault.CodeReplayed:             http.StatusConflict,
	fault.CodeWrongServerRandom:    http.StatusBadRequest,
	fault.CodeLivenessModeMismatch: http.StatusConflict,
	fault.CodeLivenessInProgress:   http.StatusConflict,
	fault.CodeTooManyAttempts:      http.StatusConflict,

	fault.CodeInternal:      http.StatusInternalServerError,
	fault.CodeNotConfigured: http.StatusServiceUnavailable,
	fault.CodeBusy:          http.StatusServiceUnavailable,
	// The handoff adapter answers 504 instead when the GPU service timed out.
	fault.CodeGPUUnavailable: http.StatusBadGateway,
}

// StatusOf returns the HTTP status of an error: its code's row of the
// table; 500 for a code the table lacks.
func StatusOf(e *fault.Error) int {
	if s, ok := statuses[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
