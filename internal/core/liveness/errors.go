package liveness

import (
	"errors"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/capture"
)

// Kind classifies a refusal; the transport maps each kind to a status.
type Kind int

// Kinds of refusal.
const (
	Invalid     Kind = iota + 1 // the request is malformed or too late
	NotFound                    // no such session, parameters or recording
	Conflict                    // the session's state forbids it now
	TooLarge                    // the capture is larger than allowed
	Unavailable                 // not configured in this deployment
)

// Error is a refusal of a liveness use case: its kind, a stable code and a
// message meant for an integrator. Other errors are internal.
type Error struct {
	Kind    Kind
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Codes of the liveness refusals (docs/api.md lists them).
const (
	CodeNotFound          = "NOT_FOUND"
	CodeNotConfigured     = "NOT_CONFIGURED"
	CodeConflict          = "CONFLICT"
	CodeTooLarge          = "REQUEST_TOO_LARGE"
	CodeDecryptionFailed  = "DECRYPTION_FAILED"
	CodeInProgress        = "LIVENESS_IN_PROGRESS"
	CodeTooManyAttempts   = "TOO_MANY_ATTEMPTS"
	CodeWrongSession      = "WRONG_SESSION"
	CodeNoParameters      = "NO_LIVENESS_PARAMETERS"
	CodeExpired           = "LIVENESS_EXPIRED"
	CodeReplayed          = "REPLAYED"
	CodeWrongServerRandom = "WRONG_SERVER_RANDOM"
	CodeModeMismatch      = "LIVENESS_MODE_MISMATCH"
)

func refusal(k Kind, code, msg string) *Error { return &Error{Kind: k, Code: code, Message: msg} }

// CaptureError maps the capture package's errors to refusals; ok is false
// for any other error.
func CaptureError(err error) (mapped error, ok bool) {
	var be *biometric.Error
	switch {
	case errors.As(err, &be):
		return err, true
	case errors.Is(err, capture.ErrTooLarge):
		return refusal(TooLarge, CodeTooLarge, "capture: "+err.Error()), true
	case errors.Is(err, capture.ErrDecrypt):
		return refusal(Invalid, CodeDecryptionFailed, "the encrypted capture could not be decrypted for this bio-session and serverRandom"), true
	case errors.Is(err, capture.ErrInvalid):
		return biometric.Invalid("capture: %v", err), true
	}
	return err, false
}

// refused returns the code and message of an error the client caused (a
// refusal, or the face pipeline's 4xx); ok is false for internal errors.
func refused(err error) (code, msg string, ok bool) {
	var le *Error
	if errors.As(err, &le) {
		return le.Code, le.Message, true
	}
	var be *biometric.Error
	// biometric.Error still carries an HTTP status: below 500 is the
	// client's fault.
	if errors.As(err, &be) && be.Status < 500 {
		return be.Code, be.Message, true
	}
	return "", "", false
}

func isKind(err error, k Kind) bool {
	var le *Error
	return errors.As(err, &le) && le.Kind == k
}
