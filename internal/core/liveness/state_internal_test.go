package liveness

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// An analysis that never finished (the function timed out or died) stops
// holding the session after analysisDeadline: its result reads ERROR.
func TestInterruptedAnalysis(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	d := New(Deps{Now: func() time.Time { return now }})
	st := &state{Status: StatusInProgress, Started: now.Add(-time.Minute), Mode: ModeHigh,
		Params: Parameters{ServerRandom: "r", Expires: now.Add(time.Hour)}}
	assert.False(t, d.interrupted(st))
	assert.Equal(t, StatusInProgress, d.currentResult("s", st).LivenessStatus)

	st.Started = now.Add(-analysisDeadline - time.Second)
	assert.True(t, d.interrupted(st))
	res := d.currentResult("s", st)
	assert.Equal(t, "ERROR", res.LivenessStatus)
	assert.Contains(t, *res.Diagnostic, "interrupted")

	st.Status = StatusInitialized
	assert.False(t, d.interrupted(st), "only an analysis in progress can be interrupted")
	now = now.Add(2 * time.Hour)
	assert.Equal(t, "TIMEOUT", d.currentResult("s", st).LivenessStatus, "parameters expired without a capture")
}

// Every drawn sequence has a head movement, so the planar motion test
// always has something to test.
func TestParametersHaveAPoseAction(t *testing.T) {
	d := New(Deps{Active: &Active{}})
	one := 1
	for range 200 {
		p, err := d.newParameters(ParametersRequest{NbChallenge: &one})
		assert.NoError(t, err)
		assert.Len(t, p.Challenges, 1)
		assert.NotEqual(t, "BLINK", string(p.Challenges[0]))
	}
}

// TestOptionalLogValue: the liveness log prints the passive score itself
// (slog printed the *float64's address).
func TestOptionalLogValue(t *testing.T) {
	v := 0.8125
	for _, tc := range []struct {
		in   *float64
		want string
	}{{&v, `"passive":0.8125`}, {nil, `"passive":null`}} {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("liveness analysis", "passive", optional(tc.in))
		assert.Contains(t, buf.String(), tc.want)
	}
}
