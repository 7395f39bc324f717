package challenge_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/challenge"
)

func TestParseAction(t *testing.T) {
	tests := []struct {
		in   string
		want challenge.Action
		ok   bool
	}{
		{"TURN_LEFT", challenge.TurnLeft, true},
		{"turn_right", challenge.TurnRight, true},
		{" Look_Up\n", challenge.LookUp, true},
		{"LOOK_DOWN", challenge.LookDown, true},
		{"blink", challenge.Blink, true},
		{"", "", false},
		{"SMILE", "", false},
		{"TURN LEFT", "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := challenge.ParseAction(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, challenge.ErrUnknownAction)
				assert.Contains(t, err.Error(), fmt.Sprintf("%q", tt.in))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	for _, a := range challenge.Actions {
		got, err := challenge.ParseAction(string(a))
		require.NoError(t, err)
		assert.Equal(t, a, got)
	}
}

func TestDrawCount(t *testing.T) {
	tests := []struct {
		n  int
		ok bool
	}{{-1, false}, {0, false}, {1, true}, {5, true}, {6, true}, {challenge.MaxChallenges, true}, {challenge.MaxChallenges + 1, false}, {100, false}}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			got, err := challenge.Draw(42, tt.n)
			if !tt.ok {
				require.ErrorIs(t, err, challenge.ErrCount)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Len(t, got, tt.n)
		})
	}
}

func TestDrawDeterministic(t *testing.T) {
	distinct := map[string]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		for n := 1; n <= challenge.MaxChallenges; n++ {
			a, err := challenge.Draw(seed, n)
			require.NoError(t, err)
			b, err := challenge.Draw(seed, n)
			require.NoError(t, err)
			require.Equal(t, a, b, "seed %d n %d", seed, n)
			if n == 5 {
				distinct[fmt.Sprint(a)] = true
			}
		}
	}
	// 200 seeds over the 120 orders of 5 actions: the seed must matter.
	assert.Greater(t, len(distinct), 80)
}

func TestDrawConstraints(t *testing.T) {
	for seed := uint64(0); seed < 3000; seed++ {
		for n := 1; n <= challenge.MaxChallenges; n++ {
			got, err := challenge.Draw(seed*7919+uint64(n), n)
			require.NoError(t, err)
			for i, a := range got {
				require.Contains(t, challenge.Actions, a)
				if i > 0 {
					require.NotEqual(t, got[i-1], a, "seed %d n %d: %v", seed, n, got)
				}
				if n <= len(challenge.Actions) {
					require.False(t, slices.Contains(got[:i], a), "seed %d n %d: %v repeats", seed, n, got)
				}
			}
		}
	}
}

// Every action is equally likely at every position: a chi-square statistic
// with 4 degrees of freedom, bounded far in the tail (p < 1e-4 at 23.5).
func TestDrawUniform(t *testing.T) {
	const seeds = 5000
	for _, n := range []int{1, 3, challenge.MaxChallenges} {
		counts := make([]map[challenge.Action]int, n)
		for i := range counts {
			counts[i] = map[challenge.Action]int{}
		}
		for seed := uint64(0); seed < seeds; seed++ {
			got, err := challenge.Draw(seed, n)
			require.NoError(t, err)
			for i, a := range got {
				counts[i][a]++
			}
		}
		want := float64(seeds) / float64(len(challenge.Actions))
		for i, c := range counts {
			var chi2 float64
			for _, a := range challenge.Actions {
				d := float64(c[a]) - want
				chi2 += d * d / want
			}
			assert.Less(t, chi2, 23.5, "n %d position %d: %v", n, i, c)
		}
	}
}
