package store

import (
	"context"
	"errors"
	"time"
)

// ErrConflict reports a conditional write that lost a race: the record's
// version changed since it was read. Callers re-read and retry.
var ErrConflict = errors.New("version conflict")

// Class is the stored template of one class id (an enrolled person) of a
// tenant. Sealed holds the feature vectors, encrypted by the caller (the
// store never sees them in clear); the other fields are plain metadata.
type Class struct {
	Tenant  string
	ClassID uint64
	// Version increases by one on every successful write; 0 means "not
	// stored yet" when passed to PutClass.
	Version  int64
	Encoder  string
	Vectors  int      // number of feature vectors in Sealed
	Enrolled int      // images enrolled over the template's life
	Tags     []string // tenant-defined labels
	// Thumbnails lists the blob keys of the stored face thumbnails.
	Thumbnails []string
	Sealed     []byte
	Created    time.Time
	Updated    time.Time
}

// Gallery is a named set of class ids of a tenant, for 1:N identification.
type Gallery struct {
	Tenant      string
	Name        string
	Description string
	// Version increases on every membership change, so a cached matrix
	// knows when to reload.
	Version int64
	Members int
	Created time.Time
}

// Classes stores templates and galleries.
type Classes interface {
	// GetClass returns a class (ErrNotFound when absent or another tenant's).
	GetClass(ctx context.Context, tenant string, classID uint64) (Class, error)
	// PutClass writes c if the stored version equals c.Version (0: absent)
	// and returns it with Version+1; ErrConflict otherwise.
	PutClass(ctx context.Context, c Class) (Class, error)
	// DeleteClass removes the class and its memberships in every gallery of
	// the tenant (bumping those galleries' versions); ErrNotFound when absent.
	DeleteClass(ctx context.Context, tenant string, classID uint64) error

	// CreateGallery stores a new gallery (ErrExists when the name is taken).
	CreateGallery(ctx context.Context, g Gallery) error
	GetGallery(ctx context.Context, tenant, name string) (Gallery, error)
	ListGalleries(ctx context.Context, tenant string) ([]Gallery, error)
	// DeleteGallery removes the gallery and its memberships (not the classes).
	DeleteGallery(ctx context.Context, tenant, name string) error
	// AddMembers adds class ids to a gallery (existing members are kept;
	// ids need not be enrolled yet) and returns the gallery's new state.
	AddMembers(ctx context.Context, tenant, name string, classIDs []uint64) (Gallery, error)
	// RemoveMembers removes class ids from a gallery.
	RemoveMembers(ctx context.Context, tenant, name string, classIDs []uint64) (Gallery, error)
	// Members pages through a gallery's class ids in ascending order, after
	// the given id (0: from the start), at most limit of them; next is 0 on
	// the last page.
	Members(ctx context.Context, tenant, name string, after uint64, limit int) (ids []uint64, next uint64, err error)
	// GalleriesOf lists the galleries a class belongs to.
	GalleriesOf(ctx context.Context, tenant string, classID uint64) ([]string, error)
}
