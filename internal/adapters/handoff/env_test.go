package handoff_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/handoff"
)

func TestRemoteFromEnv(t *testing.T) {
	const p = "FACELAMBDA_HEAVY_LIVENESS"
	for _, tc := range []struct {
		name                   string
		function, url, timeout string
		wantRemote             bool
		wantErr                string
	}{
		{name: "nothing set: all local"},
		{name: "function", function: "liveness-gpu", wantRemote: true},
		{name: "url", url: "https://gpu.example.com", timeout: "5s", wantRemote: true},
		{name: "both", function: "liveness-gpu", url: "https://gpu.example.com", wantErr: "not both"},
		{name: "plain http", url: "http://gpu.example.com", wantErr: "https is required"},
		{name: "bad timeout", url: "https://gpu.example.com", timeout: "soon", wantErr: p + "_TIMEOUT"},
		{name: "zero timeout", function: "liveness-gpu", timeout: "0s", wantErr: "positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(p+"_FUNCTION", tc.function)
			t.Setenv(p+"_URL", tc.url)
			t.Setenv(p+"_TIMEOUT", tc.timeout)
			// No shared AWS files: the configuration comes from here only.
			none := filepath.Join(t.TempDir(), "none")
			t.Setenv("AWS_CONFIG_FILE", none)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
			t.Setenv("AWS_REGION", "eu-west-1")

			h, err := handoff.RemoteFromEnv(context.Background(), p)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantRemote, h != nil)
		})
	}
}
