// Package ident validates the identifiers the store adapters build keys
// from (tenants, session, face and API key ids, gallery names, class ids),
// so that every adapter accepts and rejects the same ones and no two
// (tenant, id) pairs can map to the same storage key; class.go holds the
// other limits of store.Classes the adapters share.
package ident

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest identifier accepted, in bytes.
const MaxLen = 256

// ErrInvalid reports an identifier no record can have.
var ErrInvalid = errors.New("invalid identifier")

// Check returns nil when s is a usable identifier: 1 to MaxLen bytes of
// valid UTF-8 without control characters, '#' (the DynamoDB key
// separator) or '/' (the blob key separator). kind names the identifier in
// the error.
func Check(kind, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, kind)
	case len(s) > MaxLen:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, kind, MaxLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not UTF-8", ErrInvalid, kind)
	}
	for _, r := range s {
		if r == '#' || r == '/' || unicode.IsControl(r) {
			return fmt.Errorf("%w: %s %q contains %q", ErrInvalid, kind, s, r)
		}
	}
	return nil
}

// CheckAll checks pairs of (kind, value) and returns the first error.
func CheckAll(kindValue ...string) error {
	if len(kindValue)%2 != 0 {
		panic("ident.CheckAll: odd argument count")
	}
	for i := 0; i < len(kindValue); i += 2 {
		if err := Check(kindValue[i], kindValue[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// MaxKeyLen is the longest blob key accepted, in bytes (S3's limit).
const MaxKeyLen = 1024

// CheckKey returns nil when key is a usable blob key: 1 to MaxKeyLen bytes
// of [A-Za-z0-9._/-], made of non-empty segments separated by '/' that are
// not "." or "..", so that it is also a safe relative file path.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty blob key", ErrInvalid)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: blob key longer than %d bytes", ErrInvalid, MaxKeyLen)
	}
	if err := checkKeyChars(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: blob key %q has an empty, \".\" or \"..\" segment", ErrInvalid, key)
		}
	}
	return nil
}

// CheckPrefix returns nil when prefix is a usable blob key prefix: not
// empty, the characters of a key, and every segment before the last '/' a
// valid key segment. The last segment may be partial (or empty after a
// trailing '/') but not "." or "..".
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return fmt.Errorf("%w: empty blob key prefix", ErrInvalid)
	}
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("%w: blob key prefix longer than %d bytes", ErrInvalid, MaxKeyLen)
	}
	if err := checkKeyChars(prefix); err != nil {
		return err
	}
	segs := strings.Split(prefix, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if seg == "." || seg == ".." || (seg == "" && !last) {
			return fmt.Errorf("%w: blob key prefix %q has an empty, \".\" or \"..\" segment", ErrInvalid, prefix)
		}
	}
	return nil
}

func checkKeyChars(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '/'
		if !ok {
			return fmt.Errorf("%w: blob key %q contains %q (allowed: A-Z a-z 0-9 . _ - /)", ErrInvalid, s, c)
		}
	}
	return nil
}
