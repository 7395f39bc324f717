package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/challenge"
)

// TestFixedDraw: --test-fixed-challenges answers its list for every seed
// and count; a bad list is a usage error before anything is served.
func TestFixedDraw(t *testing.T) {
	for _, tc := range []struct {
		list    string
		want    []challenge.Action
		wantErr string
	}{
		{list: "TURN_LEFT,BLINK", want: []challenge.Action{challenge.TurnLeft, challenge.Blink}},
		{list: " look_down , turn_left,LOOK_DOWN", want: []challenge.Action{challenge.LookDown, challenge.TurnLeft, challenge.LookDown}},
		{list: "BLINK", want: []challenge.Action{challenge.Blink}},
		{list: "TURN_LEFT,SMILE", wantErr: "unknown action"},
		{list: "TURN_LEFT,", wantErr: "unknown action"},
		{list: "BLINK,BLINK,BLINK,BLINK,BLINK,BLINK,BLINK,BLINK,BLINK", wantErr: "at most 8"},
	} {
		t.Run(tc.list, func(t *testing.T) {
			draw, err := fixedDraw(tc.list)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				var stderr bytes.Buffer
				code := Run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--test-fixed-challenges", tc.list}, &bytes.Buffer{}, &stderr)
				assert.Equal(t, ExitUsage, code)
				assert.Contains(t, stderr.String(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			for _, n := range []int{1, 3} {
				for _, seed := range []uint64{0, 42} {
					got, err := draw(seed, n)
					require.NoError(t, err)
					assert.Equal(t, tc.want, got)
				}
			}
			got, _ := draw(0, 1)
			got[0] = challenge.TurnRight
			again, _ := draw(0, 1)
			assert.Equal(t, tc.want, again, "a caller changing its answer changes no later one")
		})
	}
}
