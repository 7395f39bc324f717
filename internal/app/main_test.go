package app_test

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/testkit"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// lambdaLike are the settings the component tests override: the embedded
// store in a fresh folder, with the webhook policy of the functions in
// AWS (no http:// URLs).
func lambdaLike(t *testing.T) map[string]string {
	return map[string]string{"FACELAMBDA_STORE": config.StoreEmbedded, "FACELAMBDA_DATA_DIR": t.TempDir(),
		"FACELAMBDA_WEBHOOK_ALLOW_HTTP": "0"}
}

// build is the component tests' service: app.Build of the environment's
// configuration with the overrides (lambdaLike when nil) and every part,
// seeded with the fixture the events refer to.
func build(t *testing.T, overrides map[string]string) *app.Graph {
	t.Helper()
	if overrides == nil {
		overrides = lambdaLike(t)
	}
	cfg, err := config.LoadWith(overrides)
	require.NoError(t, err)
	g, err := app.Build(t.Context(), cfg, app.Everything)
	require.NoError(t, err, "run `make layers`")
	t.Cleanup(func() { g.Close() })
	g.Embedded.BaseURL = "https://uploads.example"
	img, err := app.FixtureImages(testkit.Testdata(t, "faces"))
	require.NoError(t, err)
	require.NoError(t, app.SeedAll(t.Context(), g.Deps, img, time.Now()))
	return g
}
