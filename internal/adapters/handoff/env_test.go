package handoff_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/handoff"
)

func TestRemote(t *testing.T) {
	for _, tc := range []struct {
		name          string
		function, url string
		timeout       time.Duration
		wantRemote    bool
		wantErr       string
	}{
		{name: "nothing set: all local"},
		{name: "function", function: "liveness-gpu", wantRemote: true},
		{name: "url", url: "https://gpu.example.com", timeout: 5 * time.Second, wantRemote: true},
		{name: "both", function: "liveness-gpu", url: "https://gpu.example.com", wantErr: "not both"},
		{name: "plain http", url: "http://gpu.example.com", wantErr: "https is required"},
		{name: "negative timeout", function: "liveness-gpu", timeout: -time.Second, wantErr: "not positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No shared AWS files: the configuration comes from here only.
			none := filepath.Join(t.TempDir(), "none")
			t.Setenv("AWS_CONFIG_FILE", none)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
			t.Setenv("AWS_REGION", "eu-west-1")

			h, err := handoff.Remote(context.Background(), tc.function, tc.url, tc.timeout)
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
