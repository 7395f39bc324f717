package fault

// Stable error codes (docs/api.md lists them). Every code has a status in
// the transport's table (transport/httpapi/status.go); Codes lists them all.
const (
	// Requests.
	CodeInvalidRequest    = "INVALID_REQUEST"
	CodeFieldTooLong      = "FIELD_TOO_LONG"
	CodeUnknownField      = "UNKNOWN_FIELD"
	CodeDuplicateField    = "DUPLICATE_FIELD"
	CodeConflictingFields = "CONFLICTING_FIELDS"
	CodeNotFound          = "NOT_FOUND"
	CodeMethodNotAllowed  = "METHOD_NOT_ALLOWED"
	CodeUnsupportedMedia  = "UNSUPPORTED_MEDIA_TYPE"
	CodeRequestTooLarge   = "REQUEST_TOO_LARGE"
	CodeConflict          = "CONFLICT"

	// Authentication.
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	// Client tokens (core/auth): malformed or tampered, expired, used
	// outside their session's liveness routes or origins, replayed.
	CodeTokenInvalid  = "TOKEN_INVALID"
	CodeTokenExpired  = "TOKEN_EXPIRED"
	CodeTokenScope    = "TOKEN_SCOPE"
	CodeTokenReplayed = "TOKEN_REPLAYED"

	// Images, faces and templates.
	CodeInvalidImage     = "INVALID_IMAGE"
	CodeImageTooLarge    = "IMAGE_TOO_LARGE"
	CodeUnsupportedImage = "UNSUPPORTED_IMAGE_FORMAT"
	CodeFaceNotFound     = "FACE_NOT_FOUND"
	CodeMultipleFaces    = "MULTIPLE_FACES_FOUND"
	CodeQualityCheck     = "QUALITY_CHECK_FAILED"
	CodeInvalidTemplate  = "INVALID_TEMPLATE"
	CodeTemplateVersion  = "TEMPLATE_VERSION_MISMATCH"
	CodeInvalidSignature = "INVALID_SIGNATURE"
	CodeUploadUsed       = "UPLOAD_ALREADY_USED"
	CodeTemplateNotFound = "TEMPLATE_NOT_FOUND"
	CodeTemplateOutdated = "TEMPLATE_OUTDATED"
	CodeGalleryExists    = "GALLERY_EXISTS"

	// Active liveness.
	CodeDecryptionFailed     = "DECRYPTION_FAILED"
	CodeWrongSession         = "WRONG_SESSION"
	CodeNoLivenessParameters = "NO_LIVENESS_PARAMETERS"
	CodeLivenessExpired      = "LIVENESS_EXPIRED"
	CodeReplayed             = "REPLAYED"
	CodeWrongServerRandom    = "WRONG_SERVER_RANDOM"
	CodeLivenessModeMismatch = "LIVENESS_MODE_MISMATCH"
	CodeLivenessInProgress   = "LIVENESS_IN_PROGRESS"
	CodeTooManyAttempts      = "TOO_MANY_ATTEMPTS"

	// The service.
	CodeInternal       = "INTERNAL_ERROR"
	CodeNotConfigured  = "NOT_CONFIGURED"
	CodeBusy           = "SERVER_BUSY"
	CodeGPUUnavailable = "GPU_UNAVAILABLE"
)

// Codes lists every stable code.
var Codes = []string{
	CodeInvalidRequest, CodeFieldTooLong, CodeUnknownField, CodeDuplicateField, CodeConflictingFields,
	CodeNotFound, CodeMethodNotAllowed, CodeUnsupportedMedia, CodeRequestTooLarge, CodeConflict,
	CodeUnauthenticated, CodeForbidden,
	CodeTokenInvalid, CodeTokenExpired, CodeTokenScope, CodeTokenReplayed,
	CodeInvalidImage, CodeImageTooLarge, CodeUnsupportedImage, CodeFaceNotFound, CodeMultipleFaces,
	CodeQualityCheck, CodeInvalidTemplate, CodeTemplateVersion, CodeInvalidSignature, CodeUploadUsed,
	CodeTemplateNotFound, CodeTemplateOutdated, CodeGalleryExists,
	CodeDecryptionFailed, CodeWrongSession, CodeNoLivenessParameters, CodeLivenessExpired, CodeReplayed,
	CodeWrongServerRandom, CodeLivenessModeMismatch, CodeLivenessInProgress, CodeTooManyAttempts,
	CodeInternal, CodeNotConfigured, CodeBusy, CodeGPUUnavailable,
}
