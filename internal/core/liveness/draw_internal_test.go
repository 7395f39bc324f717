package liveness

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/challenge"
)

// TestDrawChallengesSeam: Active.DrawChallenges (the test-only fixed
// challenge list of `facelambda serve`) replaces the draw: its answer is
// taken as it is, with the attempt's seed and requested count passed in;
// nil keeps challenge.Draw.
func TestDrawChallengesSeam(t *testing.T) {
	blinkOnly := []challenge.Action{challenge.Blink}
	twoMoves := []challenge.Action{challenge.TurnLeft, challenge.Blink}
	for _, tc := range []struct {
		name    string
		draw    []challenge.Action
		err     error
		ask     int
		wantErr string
	}{
		{name: "fixed list longer than asked", draw: twoMoves, ask: 1},
		{name: "fixed list shorter than asked", draw: twoMoves, ask: 4},
		// challenge.Draw's sequences of blinks alone are redrawn; a fixed
		// one is kept (a redraw would loop for ever).
		{name: "blinks alone kept", draw: blinkOnly, ask: 3},
		{name: "draw error", err: errors.New("boom"), ask: 3, wantErr: "boom"},
		{name: "empty answer refused", draw: []challenge.Action{}, ask: 3, wantErr: "no challenge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotSeed uint64
			var gotN int
			d := New(Deps{Active: &Active{DrawChallenges: func(seed uint64, n int) ([]challenge.Action, error) {
				gotSeed, gotN = seed, n
				return tc.draw, tc.err
			}}})
			p, err := d.newParameters(ParametersRequest{NbChallenge: &tc.ask})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.draw, p.Challenges)
			assert.Equal(t, len(tc.draw), p.NbChallenge)
			assert.Equal(t, tc.ask, gotN)
			assert.Equal(t, uint64(p.Seed), gotSeed)
		})
	}

	t.Run("nil draws from the seed", func(t *testing.T) {
		d := New(Deps{Active: &Active{}})
		n := 3
		p, err := d.newParameters(ParametersRequest{NbChallenge: &n})
		require.NoError(t, err)
		want, err := challenge.Draw(uint64(p.Seed), n)
		require.NoError(t, err)
		assert.Equal(t, want, p.Challenges)
		assert.Equal(t, n, p.NbChallenge)
	})
}
