package signing

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Claims bind a signed decision (a match, a verification, an
// identification, a liveness verdict, a challenge result) to what it is
// about. They are members of the signed resource itself, so they are in the
// JWS payload:
//
//	"tenant":    the tenant whose API key made the request
//	"subjects":  what was compared or judged, with SHA-256 digests
//	"requestId": the X-Request-Id of the response that carries the signature
//	"iat":       when it was signed, in seconds since the Unix epoch (UTC)
//
// A verifier checks, after the signature, that tenant is its own, that
// requestId is the X-Request-Id it received, that iat is recent, and that
// the digests are those of the images or templates it sent.
type Claims struct {
	Tenant    string    `json:"tenant"`
	Subjects  []Subject `json:"subjects"`
	RequestID string    `json:"requestId"`
	IssuedAt  int64     `json:"iat"`
}

// Subject is one thing a decision is about. Digests are lowercase hex
// SHA-256:
//
//   - ImageSHA256: of the image bytes as the service received them (the
//     multipart part's body, or the base64-decoded bytes of a JSON field),
//     before any decoding, rotation or resizing;
//   - TemplateSHA256: of the binary template (FLTP version 1: the
//     base64-decoded bytes of a "template" field), see template.Digest;
//   - CaptureSHA256: of the liveness capture container (the ZIP as
//     received, as decrypted for a replay, or as rebuilt from multipart
//     parts: the recording GET .../recording serves).
//
// ID names a stored subject: a face id, a class id, a gallery name.
type Subject struct {
	Role           string `json:"role"`
	ID             string `json:"id,omitempty"`
	ImageSHA256    string `json:"imageSha256,omitempty"`
	TemplateSHA256 string `json:"templateSha256,omitempty"`
	CaptureSHA256  string `json:"captureSha256,omitempty"`
}

// Digest returns the lowercase hex SHA-256 of b, the form of every digest
// in a Subject.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// NewClaims returns the claims of a decision made for tenant in request
// requestID, issued at now.
func NewClaims(tenant, requestID string, now time.Time, subjects ...Subject) *Claims {
	if subjects == nil {
		subjects = []Subject{}
	}
	return &Claims{Tenant: tenant, Subjects: subjects, RequestID: requestID, IssuedAt: now.Unix()}
}
