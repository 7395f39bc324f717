package ident

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"tenant-1", true},
		{"3f2a9c1e-6a4b-4d0e-9a8f-0c1d2e3f4a5b", true},
		{"user@example.com", true},
		{"é", true},
		{"", false},
		{"a#b", false},
		{"a/b", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"\xff", false},
		{strings.Repeat("a", MaxLen), true},
		{strings.Repeat("a", MaxLen+1), false},
	}
	for _, tc := range tests {
		err := Check("id", tc.in)
		if tc.ok {
			assert.NoError(t, err, "%q", tc.in)
		} else {
			assert.ErrorIs(t, err, ErrInvalid, "%q", tc.in)
		}
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"t/s/f.jpg", true},
		{"a", true},
		{"a.b/c_d-e/F9", true},
		{".hidden/x", true},
		{"a/..b", true},
		{"", false},
		{"/etc/passwd", false},
		{"../x", false},
		{"a/../x", false},
		{"a/./x", false},
		{"a//x", false},
		{"a/", false},
		{".", false},
		{"..", false},
		{"a b", false},
		{"a\\b", false},
		{"a%2f", false},
		{"é", false},
		{strings.Repeat("a", MaxKeyLen), true},
		{strings.Repeat("a", MaxKeyLen+1), false},
	}
	for _, tc := range tests {
		err := CheckKey(tc.in)
		if tc.ok {
			assert.NoError(t, err, "%q", tc.in)
		} else {
			assert.ErrorIs(t, err, ErrInvalid, "%q", tc.in)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"t/", true},
		{"t/s1", true},
		{"t/s1/", true},
		{"t", true},
		{"t/.h", true},
		{"", false},
		{"/", false},
		{"/t", false},
		{"../", false},
		{"..", false},
		{"t/..", false},
		{"t/.", false},
		{"t//", false},
		{"t/../x", false},
		{"t s", false},
	}
	for _, tc := range tests {
		err := CheckPrefix(tc.in)
		if tc.ok {
			assert.NoError(t, err, "%q", tc.in)
		} else {
			assert.ErrorIs(t, err, ErrInvalid, "%q", tc.in)
		}
	}
}

func TestCheckAll(t *testing.T) {
	assert.NoError(t, CheckAll("tenant", "t", "id", "i"))
	assert.ErrorContains(t, CheckAll("tenant", "t", "id", ""), "empty id")
	//lint:ignore SA5012 an odd argument list, to see CheckAll panic
	assert.Panics(t, func() { _ = CheckAll("tenant") })
}
