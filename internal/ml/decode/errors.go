package decode

import (
	"errors"
	"net/http"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, with a message giving the details, so callers can classify an error
// with errors.Is and show err.Error() to a user.
var (
	// ErrEmpty reports an upload with no bytes.
	ErrEmpty = errors.New("empty image")
	// ErrTooLarge reports an image over the byte or pixel limit.
	ErrTooLarge = errors.New("image too large")
	// ErrUnsupported reports bytes that are not a JPEG, PNG, WebP or GIF
	// image, or one that uses a feature no decoder here implements.
	ErrUnsupported = errors.New("unsupported image format")
	// ErrCorrupt reports a truncated or malformed image of a supported format.
	ErrCorrupt = errors.New("corrupt image")
)

// StatusCode maps an error from this package to the HTTP status a handler
// should answer with: 413 for [ErrTooLarge], 415 for [ErrUnsupported], 400
// for [ErrCorrupt] and [ErrEmpty], and 500 for anything else.
func StatusCode(err error) int {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnsupported):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrEmpty):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}
