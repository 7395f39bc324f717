package liveness_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/testkit"
)

// Analyse is refused where active liveness is not configured.
func TestAnalyseNotConfigured(t *testing.T) {
	_, err := liveness.New(liveness.Deps{}).Analyse(context.Background(), &capture.Capture{}, liveness.Parameters{})
	var fe *fault.Error
	require.True(t, errors.As(err, &fe), "got %v", err)
	assert.Equal(t, fault.CodeNotConfigured, fe.Code)
}

// Analyse samples a long capture as an attempt does and hands back what it
// measured on each analysed frame with the result: a still photo asked
// to turn does not turn.
func TestAnalyseStillPhoto(t *testing.T) {
	img, err := os.ReadFile(testkit.Testdata(t, "faces", "obama.jpg"))
	require.NoError(t, err)
	bio := biometrictest.Real(t)
	cfg, err := config.Load()
	require.NoError(t, err)
	pas, err := app.OpenLiveness(cfg.Models)
	if err != nil {
		t.Skip("liveness models not available (layers/):", err)
	}
	svc := liveness.New(liveness.Deps{Bio: bio, Passive: pas,
		Active: &liveness.Active{Challenge: challenge.DefaultConfig(), ExposeChecks: true}})
	tests := []struct {
		name   string
		frames int
		want   []int // analysed frame indexes, first and last
		n      int
	}{
		{"short capture: every frame", 8, []int{0, 7}, 8},
		{"long capture: sampled", 2 * liveness.MaxAnalysedFrames, []int{0, 2*liveness.MaxAnalysedFrames - 1}, liveness.MaxAnalysedFrames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &capture.Capture{Manifest: capture.Manifest{SessionID: "s"}}
			for i := range tt.frames {
				c.Frames = append(c.Frames, capture.Frame{Time: time.Duration(i) * 100 * time.Millisecond, Data: img})
			}
			a, err := svc.Analyse(context.Background(), c, liveness.Parameters{Type: "HIGH", Timeout: 60000,
				PassiveLevel: "BALANCED_VERY_HIGH", Challenges: []challenge.Action{challenge.TurnLeft}})
			require.NoError(t, err)
			require.Len(t, a.Frames, tt.n)
			require.Len(t, a.Observations, tt.n)
			assert.Equal(t, tt.want, []int{a.Frames[0], a.Frames[tt.n-1]})
			assert.Equal(t, 1, a.Observations[0].Faces)
			assert.Equal(t, c.Frames[a.Frames[tt.n-1]].Time, a.Observations[tt.n-1].Time)
			assert.NotEqual(t, string(challenge.StatusSuccess), a.Result.LivenessStatus)
			assert.Equal(t, liveness.ModeHigh, a.Result.LivenessMode)
			require.NotNil(t, a.Result.Checks)
			assert.Equal(t, tt.n, a.Result.Checks.Frames)
			require.NotNil(t, a.Result.Checks.Measures, "exposed measures")
			assert.Positive(t, a.Result.Checks.Measures.PassiveFrames, "passive scores reach the observations")
		})
	}
}
