package liveness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/fault"
)

// TestTimeoutBounds: the timeout (ms) is held to its bounds as given, so a
// value whose conversion to a duration overflows into the bounds is
// refused too (it used to be taken: 18446744103740 ms became 30 s of
// expiry while the attempt announced a timeout no page can wait for).
func TestTimeoutBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		ms   int64
		ok   bool
	}{
		{"minimum", minChallengeTimeout.Milliseconds(), true},
		{"maximum", maxChallengeTimeout.Milliseconds(), true},
		{"below", minChallengeTimeout.Milliseconds() - 1, false},
		{"above", maxChallengeTimeout.Milliseconds() + 1, false},
		{"negative", -1, false},
		{"overflows to 30 s", 18446744103740, false},
		{"overflows negative", -18446744043740, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Deps{Active: &Active{}})
			p, err := s.newParameters(ParametersRequest{Timeout: &tc.ms})
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, tc.ms, p.Timeout)
				return
			}
			require.Error(t, err)
			f := fault.As(err)
			require.NotNil(t, f, "%v", err)
			assert.Equal(t, fault.CodeInvalidRequest, f.Code, "%v", err)
			_, err = Pin(ParametersRequest{Timeout: &tc.ms})
			assert.Error(t, err, "a client token cannot pin it either")
		})
	}
}
