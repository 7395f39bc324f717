package ident

import (
	"fmt"
	"time"
)

// CheckClaim returns nil when the arguments of store.Records.Claim can be
// stored: a valid tenant, a name that is a valid blob key, and an expiry.
func CheckClaim(tenant, name string, expires time.Time) error {
	if err := Check("tenant", tenant); err != nil {
		return err
	}
	if err := CheckKey(name); err != nil {
		return err
	}
	if expires.IsZero() {
		return fmt.Errorf("%w: no expiry", ErrInvalid)
	}
	return nil
}
