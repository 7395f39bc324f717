// Package store defines the persistence ports of the service: records
// (sessions, faces, API keys) and blobs (images, uploads). Adapters live in
// sub-packages: dynamo (DynamoDB), s3blob (S3), embedded (files under .data/
// for the local server); storetest holds the conformance suite every
// adapter passes.
//
// Every key includes the tenant: a record of another tenant is reported as
// ErrNotFound, indistinguishable from a missing one. Expired records are
// filtered on every read, since DynamoDB's TTL deletes lazily.
//
// Identifiers (tenants, session, face and API key ids) are 1 to 256 bytes
// of UTF-8 without control characters, '#' or '/'. A write with another
// one fails (with neither ErrNotFound nor ErrExists, except PutFace, which
// reports a bad tenant or session id as ErrNotFound); a read or delete
// reports ErrNotFound. Blob keys are [A-Za-z0-9._/-] in non-empty
// segments that are not "." or "..", at most 1,024 bytes.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// Errors every adapter returns (wrapped, test with errors.Is).
var (
	// ErrNotFound: no such record for this tenant, or it expired.
	ErrNotFound = errors.New("not found")
	// ErrExists: a create found the id already taken.
	ErrExists = errors.New("already exists")
)

// Session is a bio-session. Data holds the API's JSON for fields the store
// does not interpret (liveness parameters and the like).
type Session struct {
	Tenant        string
	ID            string
	CorrelationID string
	ImageStorage  bool
	CallbackURL   string
	Created       time.Time
	Expires       time.Time
	Data          []byte
}

// Face is a face of a session: Data is the face resource's JSON (without the
// template), Template the binary template. A face expires with its session.
type Face struct {
	Tenant    string
	SessionID string
	ID        string
	Created   time.Time
	Expires   time.Time
	Data      []byte
	Template  []byte
	HasImage  bool
}

// APIKey is an API key, stored only as the SHA-256 (hex) of the key.
type APIKey struct {
	Hash    string
	Tenant  string
	Name    string
	Scopes  []string
	Created time.Time
	// Origins are the web origins ("https://shop.example") allowed to use
	// the client tokens this key issues (empty: only the API's own origin).
	Origins []string
}

// Records stores sessions, faces and API keys.
type Records interface {
	// CreateSession stores a new session (ErrExists when the id is taken
	// by a live session; an expired session's id can be taken again, and
	// its faces do not come back). Expires is required; a zero Created is
	// set to now.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a live session.
	GetSession(ctx context.Context, tenant, id string) (Session, error)
	// UpdateSessionData replaces the session's Data with data when it still
	// holds old (compare-and-swap; nil and empty are the same): ErrConflict
	// when it holds something else, ErrNotFound when the session is missing
	// or expired. Nothing else of the session changes.
	UpdateSessionData(ctx context.Context, tenant, id string, old, data []byte) error
	// DeleteSession removes the session and every face of it. Faces added
	// concurrently either fail with ErrNotFound or are removed too: no face
	// outlives its session. ErrNotFound when the session was missing or
	// expired (what was left of it is removed all the same).
	DeleteSession(ctx context.Context, tenant, id string) error

	// PutFace stores a face in a live session (ErrNotFound when the session
	// is missing or expired, checked atomically with the write; ErrExists
	// when the session already has a face of that id). The face's Expires
	// is set to the session's, a zero Created to now; the stored face is
	// returned.
	PutFace(ctx context.Context, f Face) (Face, error)
	// GetFace returns a face of a live session.
	GetFace(ctx context.Context, tenant, sessionID, faceID string) (Face, error)
	// ListFaces returns the session's live faces, oldest first by Created
	// (ties by ID), ErrNotFound when the session is missing or expired.
	ListFaces(ctx context.Context, tenant, sessionID string) ([]Face, error)
	// DeleteFace removes a face (ErrNotFound when it, or its session, is
	// missing or expired).
	DeleteFace(ctx context.Context, tenant, sessionID, faceID string) error
	// DeleteFaces removes every face of the session and returns how many
	// (ErrNotFound when the session is missing or expired). The session
	// stays.
	DeleteFaces(ctx context.Context, tenant, sessionID string) (int, error)

	// PutAPIKey stores an API key, replacing one of the same hash.
	PutAPIKey(ctx context.Context, k APIKey) error
	// GetAPIKey returns the API key of a hash (ErrNotFound when absent).
	GetAPIKey(ctx context.Context, hash string) (APIKey, error)

	// Claim records a one-time claim of name for tenant (such as the key
	// of an upload, which one request may consume): it succeeds for
	// exactly one of any number of concurrent or later calls while the
	// claim lives, the check and the write being one atomic step; the
	// others fail with ErrExists. The claim lives until expires (required);
	// after that the name can be claimed again. Names follow the rules of
	// blob keys (see package doc); another one fails with neither
	// ErrExists nor ErrNotFound.
	Claim(ctx context.Context, tenant, name string, expires time.Time) error

	// Ping checks the store answers.
	Ping(ctx context.Context) error
}

// SessionBlobPrefix is the blob-key prefix of what a session stores (face
// images, best frames, recordings): "sessions/<tenant>/<session>/". The
// embedded store removes the blobs of expired sessions under it.
func SessionBlobPrefix(tenant, session string) string {
	return "sessions/" + tenant + "/" + session + "/"
}

// Blobs stores binary objects (images) under keys that start with the
// tenant: "<tenant>/<session>/<face>.jpg".
type Blobs interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
	// Get returns the object and its content type (ErrNotFound when absent).
	Get(ctx context.Context, key string) ([]byte, string, error)
	// Delete removes the object; an absent key is not an error (S3 cannot
	// tell).
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every object whose key starts with prefix (a
	// string prefix: "t/s1" also matches "t/s10/x"; end it with "/" for a
	// folder). An empty prefix is refused.
	DeletePrefix(ctx context.Context, prefix string) error
	// PresignPut returns a URL a client can PUT one object of at most
	// maxBytes to, under key, until the URL expires. The client must send
	// Content-Type: contentType. S3 cannot enforce maxBytes on a presigned
	// PUT (the local store does): whoever consumes the upload checks its
	// size.
	PresignPut(ctx context.Context, key, contentType string, maxBytes int64, ttl time.Duration) (string, error)
	// PresignGet returns a URL a client can GET the object at key from,
	// until the URL expires (recordings). The key is not checked to exist.
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
	Ping(ctx context.Context) error
}

// Sizer is implemented by blob stores that can report an object's size
// without reading it, so that callers can refuse oversized objects (such as
// uploads, whose size a presigned PUT cannot limit) before loading them.
type Sizer interface {
	Size(ctx context.Context, key string) (int64, error)
}

// CheckBlobKey returns nil when key is a usable blob key (see package doc),
// so that callers can tell a malformed key from a missing object before
// using it elsewhere (as a Claim name).
func CheckBlobKey(key string) error { return ident.CheckKey(key) }
