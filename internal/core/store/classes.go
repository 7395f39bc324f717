package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrConflict reports a conditional write that lost a race: the record's
// version changed since it was read. Callers re-read and retry.
var ErrConflict = errors.New("version conflict")

// Class is the stored template of one class id (an enrolled person) of a
// tenant. Sealed holds the feature vectors, encrypted by the caller (the
// store never sees them in clear); the other fields are plain metadata.
//
// Class ids are not 0 (Members reserves 0 for "from the start"): a write
// with id 0 fails, a read or delete reports ErrNotFound. A class is at most
// 390,000 bytes, counting Sealed, Encoder, and each tag and thumbnail key
// plus one byte (DynamoDB's items hold 400 KB): PutClass refuses a larger
// one with an error that is neither ErrConflict nor ErrNotFound.
type Class struct {
	Tenant  string
	ClassID uint64
	// Version increases by one on every successful write; 0 means "not
	// stored yet" when passed to PutClass. A class created again under the
	// id of a deleted one starts above the deleted one's last version, so
	// the versions of a (tenant, id) never repeat and a read-modify-write
	// of the deleted class cannot overwrite the new one.
	Version  int64
	Encoder  string
	Vectors  int      // number of feature vectors in Sealed
	Enrolled int      // images enrolled over the template's life
	Tags     []string // tenant-defined labels
	// Thumbnails lists the blob keys of the stored face thumbnails, under
	// ThumbnailPrefix.
	Thumbnails []string
	Sealed     []byte
	// Created is kept from the first write (a zero one is set to now);
	// later writes keep the stored value whatever they pass.
	Created time.Time
	// Updated is stored as given, a zero one set to now: a
	// read-modify-write sets it (or zeroes it) to record the change.
	Updated time.Time
}

// ThumbnailPrefix is the blob-key prefix of the thumbnails of a class:
// "templates/<tenant>/<class id>/". A blob under it that no stored class
// names is left over from an enrolment cut short: the embedded store
// removes such blobs when it opens.
func ThumbnailPrefix(tenant string, classID uint64) string {
	return fmt.Sprintf("templates/%s/%d/", tenant, classID)
}

// Gallery is a named set of class ids of a tenant, for 1:N identification.
// Names follow the rules of other identifiers (see package doc).
type Gallery struct {
	Tenant      string
	Name        string
	Description string
	// Version increases on every membership change, so a cached matrix
	// knows when to reload. A new gallery is at Version 1; a gallery
	// created again under the name of a deleted one starts above the
	// deleted one's last version, so the versions of a (tenant, name)
	// never repeat. One AddMembers or RemoveMembers may raise it by more
	// than one (the DynamoDB store changes at most 49 ids per
	// transaction): rely on it changing, not on the step.
	Version int64
	// Members is the number of class ids in the gallery.
	Members int
	Created time.Time
}

// Classes stores templates and galleries.
type Classes interface {
	// GetClass returns a class (ErrNotFound when absent or another tenant's).
	GetClass(ctx context.Context, tenant string, classID uint64) (Class, error)
	// PutClass writes c if the stored version equals c.Version (0: absent)
	// and returns it with Version+1, as stored (Created, Updated);
	// ErrConflict otherwise: a stale or future version, 0 for a stored
	// class, or any other for an absent one. A refused write changes
	// nothing.
	PutClass(ctx context.Context, c Class) (Class, error)
	// DeleteClass removes the class and its memberships in every gallery of
	// the tenant (bumping those galleries' versions) and returns the class
	// as it was when removed, read and removed in one atomic step (so its
	// Thumbnails are exactly those of the removed version); ErrNotFound when
	// absent.
	// The memberships of an id without a class (ids need not be enrolled)
	// are removed all the same, and ErrNotFound reported. A membership
	// added concurrently with the delete may survive it, as one of an id
	// not enrolled.
	DeleteClass(ctx context.Context, tenant string, classID uint64) (Class, error)

	// CreateGallery stores a new gallery (ErrExists when the name is taken).
	// Version and Members are set by the store (see Gallery), a zero
	// Created to now; an invalid tenant or name fails with neither
	// ErrExists nor ErrNotFound.
	CreateGallery(ctx context.Context, g Gallery) error
	GetGallery(ctx context.Context, tenant, name string) (Gallery, error)
	// ListGalleries returns the tenant's galleries sorted by name (byte
	// order); none is an empty list, not an error.
	ListGalleries(ctx context.Context, tenant string) ([]Gallery, error)
	// DeleteGallery removes the gallery and its memberships (not the classes).
	DeleteGallery(ctx context.Context, tenant, name string) error
	// AddMembers adds class ids to a gallery (existing members are kept;
	// ids need not be enrolled yet) and returns the gallery's new state.
	// Duplicates count once; the version is bumped only when a member was
	// added. ErrNotFound when the gallery is missing (or the tenant or
	// name invalid); an id 0 fails the call (with another error) before
	// anything changes. A call of more
	// than 49 new ids is not atomic on DynamoDB: one that fails may have
	// added some, and repeating it is safe.
	AddMembers(ctx context.Context, tenant, name string, classIDs []uint64) (Gallery, error)
	// RemoveMembers removes class ids from a gallery, as AddMembers adds
	// them (ids that are not members are ignored).
	RemoveMembers(ctx context.Context, tenant, name string, classIDs []uint64) (Gallery, error)
	// Members pages through a gallery's class ids in ascending order, after
	// the given id (0: from the start), at most limit of them; next is 0 on
	// the last page.
	// A limit <= 0 means 1,000. next is the last id of the page when more
	// ids follow (pass it as after), and 0 when none do, even if the page
	// is full. ErrNotFound when the gallery is missing.
	Members(ctx context.Context, tenant, name string, after uint64, limit int) (ids []uint64, next uint64, err error)
	// GalleriesOf lists the galleries a class belongs to.
	// Sorted by name; an id in no gallery (or not enrolled) has an empty
	// list, not an error.
	GalleriesOf(ctx context.Context, tenant string, classID uint64) ([]string, error)
}
