package ident

import (
	"errors"
	"fmt"
	"slices"
)

// ErrTooLarge reports a class too large to store.
var ErrTooLarge = errors.New("too large")

// MaxClassSize is the largest class the adapters store, in bytes as counted
// by ClassSize: DynamoDB's item limit (400 KB, 409,600 bytes, attribute
// names included) less room for the keys, attribute names and numbers, so
// that every adapter refuses the same classes.
const MaxClassSize = 390_000

// ClassSize is the stored size of a class's variable-length fields: the
// sealed vectors, the encoder, and the tags and thumbnail keys with one
// byte of overhead each (as a DynamoDB list counts them).
func ClassSize(encoder string, sealed []byte, lists ...[]string) int {
	n := len(encoder) + len(sealed)
	for _, l := range lists {
		for _, s := range l {
			n += len(s) + 1
		}
	}
	return n
}

// CheckClassID returns nil when id can name a class: any but 0, which
// the paging of gallery members reserves for "from the start".
func CheckClassID(id uint64) error {
	if id == 0 {
		return fmt.Errorf("%w: class id 0", ErrInvalid)
	}
	return nil
}

// UniqueClassIDs returns the distinct ids, sorted, or an error for an id 0
// (see CheckClassID).
func UniqueClassIDs(ids []uint64) ([]uint64, error) {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 {
		if err := CheckClassID(out[0]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CheckClassSize returns nil when a class of size bytes (see ClassSize)
// can be stored.
func CheckClassSize(size int) error {
	if size > MaxClassSize {
		return fmt.Errorf("class of %d bytes: %w (at most %d bytes of sealed vectors, encoder, tags and thumbnails)",
			size, ErrTooLarge, MaxClassSize)
	}
	return nil
}

// DefaultMembersLimit is the page size of store.Classes.Members when the
// limit given is not positive.
const DefaultMembersLimit = 1000
