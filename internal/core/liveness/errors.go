package liveness

import (
	"errors"

	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/fault"
)

// CaptureError maps the capture package's errors to refusals; ok is false
// for any other error.
func CaptureError(err error) (mapped error, ok bool) {
	switch {
	case fault.As(err) != nil:
		return err, true
	case errors.Is(err, capture.ErrTooLarge):
		return fault.New(fault.CodeRequestTooLarge, "capture: "+err.Error()), true
	case errors.Is(err, capture.ErrDecrypt):
		return fault.New(fault.CodeDecryptionFailed, "the encrypted capture could not be decrypted for this bio-session and serverRandom"), true
	case errors.Is(err, capture.ErrInvalid):
		return fault.Invalid("capture: %v", err), true
	}
	return err, false
}

// refused returns the code and message of an error that is a final answer
// (the request, the session's state or the deployment refuses it); ok is
// false for a failure of the service (internal, busy, GPU unavailable),
// which a retry may cure.
func refused(err error) (code, msg string, ok bool) {
	e := fault.As(err)
	if e == nil {
		return "", "", false
	}
	switch e.Code {
	case fault.CodeInternal, fault.CodeBusy, fault.CodeGPUUnavailable:
		return "", "", false
	}
	return e.Code, e.Message, true
}

// isNotFound reports a refusal because the session or its parameters do
// not exist.
func isNotFound(err error) bool {
	e := fault.As(err)
	return e != nil && e.Code == fault.CodeNotFound
}
