package inference_test

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/ml/engine"
	"github.com/facelambda/facelambda/internal/ml/inference"
)

// openWith opens a runtime on the repository's library with the given
// provider options.
func openWith(t *testing.T, provider, device string) (*inference.Runtime, string, error) {
	t.Helper()
	_, man, cfg := open(t)
	rt, err := inference.Open(inference.Options{LibraryPath: cfg.LibraryPath, Provider: provider, CUDADevice: device}, man)
	return rt, cfg.ModelDir, err
}

func TestOpenRefusesBadProviderOptions(t *testing.T) {
	for _, tc := range []struct {
		name, provider, device, want string
	}{
		{"unknown provider", "bogus", "", `unknown execution provider "bogus"`},
		{"wrong case", "CUDA", "", `unknown execution provider "CUDA"`},
		{"device not a number", "auto", "gpu0", `CUDA device "gpu0"`},
		{"negative device", "cuda", "-1", `CUDA device "-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, _, err := openWith(t, tc.provider, tc.device)
			require.Error(t, err)
			assert.Nil(t, rt)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestProviders loads the same model with each provider on this machine's
// layer, which carries ONNX Runtime's CPU build: "auto" must fall back to
// the CPU and compute what "cpu" computes, "cuda" must fail.
func TestProviders(t *testing.T) {
	input := make([]float32, 3*112*112)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range input {
		input[i] = rng.Float32()*2 - 1
	}
	rt, dir, err := openWith(t, "", "")
	require.NoError(t, err)
	assert.Equal(t, inference.ProviderCPU, rt.Provider(), `"" means cpu`)
	assert.Equal(t, inference.LibraryCPU, rt.Library())
	ref, err := rt.Load(dir, "embedding")
	require.NoError(t, err)
	want, err := ref.Run(input)
	require.NoError(t, err)

	for _, tc := range []struct {
		provider string
		wantErr  bool
		warnings int
	}{
		{provider: "cpu"},
		{provider: "auto", warnings: 1},
		{provider: "cuda", wantErr: true},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			var logs bytes.Buffer
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
			defer slog.SetDefault(prev)

			rt, dir, err := openWith(t, tc.provider, "0")
			require.NoError(t, err)
			m, err := rt.Load(dir, "embedding")
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "CUDA")
				assert.Contains(t, err.Error(), "embedding")
				assert.Empty(t, rt.Providers())
				t.Logf("cuda: %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, inference.ProviderCPU, m.Provider())
			// A second model: still the CPU, and no second warning.
			eyes, err := rt.Load(dir, "eyes")
			require.NoError(t, err)
			assert.Equal(t, inference.ProviderCPU, eyes.Provider())
			assert.Equal(t, map[string]string{"embedding": "cpu", "eyes": "cpu"}, rt.Providers())
			assert.Equal(t, tc.warnings, strings.Count(logs.String(), "falling back to the CPU provider"), logs.String())
			if tc.provider == inference.ProviderAuto {
				require.Error(t, rt.CUDAError())
				assert.Contains(t, rt.CUDAError().Error(), "CUDA")
			} else {
				assert.NoError(t, rt.CUDAError())
			}

			got, err := m.Run(input)
			require.NoError(t, err)
			require.Len(t, got, len(want))
			for i := range want {
				assert.InDeltaSlice(t, want[i], got[i], 1e-6)
			}
		})
	}
}

func TestFromSettingsCarriesProvider(t *testing.T) {
	for _, tc := range []struct {
		provider, device         string
		wantProvider, wantDevice string
	}{
		{"", "", "cpu", ""},
		{" Auto ", "1", "auto", "1"},
		{"cuda", "", "cuda", ""},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			t.Setenv("FACELAMBDA_ORT_PROVIDER", tc.provider)
			t.Setenv("FACELAMBDA_CUDA_DEVICE", tc.device)
			c, err := config.Load()
			require.NoError(t, err)
			cfg := engine.FromSettings(c.Models)
			assert.Equal(t, tc.wantProvider, cfg.Provider)
			assert.Equal(t, tc.wantDevice, cfg.CUDADevice)
			opt := cfg.InferenceOptions()
			assert.Equal(t, tc.wantProvider, opt.Provider)
			assert.Equal(t, tc.wantDevice, opt.CUDADevice)
			assert.Equal(t, cfg.LibraryPath, opt.LibraryPath)
		})
	}
}
