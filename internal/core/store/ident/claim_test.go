package ident

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCheckClaim(t *testing.T) {
	exp := time.Unix(1, 0)
	for _, tc := range []struct {
		name, tenant, claim string
		expires             time.Time
		ok                  bool
	}{
		{"ok", "t1", "uploads/t1/x", exp, true},
		{"bad tenant", "a#b", "x", exp, false},
		{"empty tenant", "", "x", exp, false},
		{"empty name", "t1", "", exp, false},
		{"dot segment", "t1", "a/../b", exp, false},
		{"no expiry", "t1", "x", time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckClaim(tc.tenant, tc.claim, tc.expires)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrInvalid)
			}
		})
	}
}
