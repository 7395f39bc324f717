// Package fault is the service's error vocabulary: the typed error the
// domain returns and every stable error code a client can see. The codes
// are part of the API (docs/api.md lists them); the transport maps each to
// its protocol's status (transport/httpapi's status table) and writes the
// error object (Body).
package fault

import (
	"errors"
	"fmt"
)

// Error is a failure the caller can act on: a stable machine-readable code,
// a message meant for an integrator, the request field it is about (if
// any), and the cause (logged, never shown).
type Error struct {
	Code    string
	Message string
	// Field names the request field the error is about ("" for none).
	Field string
	// Check names the failed quality check of a QUALITY_CHECK_FAILED error
	// (FACE_UPRIGHT, ...); it is not part of the error body.
	Check string
	Err   error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code and message.
func New(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Newf returns an error with code and a formatted message.
func Newf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with code and message whose cause is err.
func Wrap(code, msg string, err error) *Error { return &Error{Code: code, Message: msg, Err: err} }

// Invalid reports a malformed request (CodeInvalidRequest).
func Invalid(format string, args ...any) *Error { return Newf(CodeInvalidRequest, format, args...) }

// OnField returns an error with code about the request field field.
func OnField(code, field, format string, args ...any) *Error {
	e := Newf(code, format, args...)
	e.Field = field
	return e
}

// Internal is the error of an unexpected failure: the client sees only
// msg ("internal error" when empty); err is logged.
func Internal(msg string, err error) *Error {
	if msg == "" {
		msg = "internal error"
	}
	return &Error{Code: CodeInternal, Message: msg, Err: err}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Body is the error object of every 4xx and 5xx response: the seed's
// {id, message} plus the stable code and, for an error about one field of
// the request, the field.
type Body struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}
