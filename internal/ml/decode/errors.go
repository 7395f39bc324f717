package decode

import "errors"

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
