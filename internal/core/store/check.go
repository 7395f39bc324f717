package store

import (
	"fmt"

	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// CheckRead validates, for the adapters, the identifiers of a read given
// as pairs of (kind, value): an invalid one names no record, so it is
// reported as ErrNotFound (wrapping the ident error). what names the
// operation in the error.
func CheckRead(what string, kindValue ...string) error {
	if err := ident.CheckAll(kindValue...); err != nil {
		return fmt.Errorf("%s: %w (%w)", what, ErrNotFound, err)
	}
	return nil
}

// CheckClassRead is CheckRead for a read of a tenant's class.
func CheckClassRead(what, tenant string, id uint64) error {
	if err := CheckRead(what, "tenant", tenant); err != nil {
		return err
	}
	if err := ident.CheckClassID(id); err != nil {
		return fmt.Errorf("%s: %w (%w)", what, ErrNotFound, err)
	}
	return nil
}
