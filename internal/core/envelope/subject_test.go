package envelope

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A subject binds a blob to its record: opening it for another subject
// fails, and a blob sealed without one still opens without one.
func TestSubject(t *testing.T) {
	s, _ := localSealer(t, Options{})
	face := AAD{Tenant: "acme", Purpose: "face-template", Subject: "s1/f1"}
	blob, err := s.Seal(ctx, []byte("template"), face)
	require.NoError(t, err)
	tests := []struct {
		name string
		aad  AAD
		ok   bool
	}{
		{"same subject", face, true},
		{"another face", AAD{Tenant: "acme", Purpose: "face-template", Subject: "s1/f2"}, false},
		{"another session", AAD{Tenant: "acme", Purpose: "face-template", Subject: "s2/f1"}, false},
		{"no subject", AAD{Tenant: "acme", Purpose: "face-template"}, false},
		{"another tenant", AAD{Tenant: "globex", Purpose: "face-template", Subject: "s1/f1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Open(ctx, blob, tc.aad)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, "template", string(got))
				return
			}
			assert.True(t, errors.Is(err, ErrAuthentication), "%v", err)
		})
	}
	plain := AAD{Tenant: "acme", ClassID: 7, Purpose: "template"}
	old, err := s.Seal(ctx, []byte("v1"), plain)
	require.NoError(t, err)
	got, err := s.Open(ctx, old, plain)
	require.NoError(t, err)
	assert.Equal(t, "v1", string(got))
	_, err = s.Seal(ctx, nil, AAD{Tenant: "t", Purpose: "p", Subject: string(make([]byte, maxSubject+1))})
	assert.Error(t, err, "over-long subject")
}

func TestOverhead(t *testing.T) {
	s, _ := localSealer(t, Options{})
	for _, n := range []int{0, 1, 1000} {
		blob, err := s.Seal(ctx, make([]byte, n), AAD{Tenant: "t", Purpose: "blob", Subject: "k"})
		require.NoError(t, err)
		o, err := Overhead(blob[:min(len(blob), MaxOverhead)])
		require.NoError(t, err)
		assert.Equal(t, n, len(blob)-o)
	}
	_, err := Overhead([]byte("FLTP...."))
	assert.ErrorIs(t, err, ErrMalformed)
}
