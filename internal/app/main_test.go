package app_test

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/app/apptest"
	"github.com/facelambda/facelambda/internal/testkit"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// lambdaLike are the settings the component tests override (on
// apptest.Settings): the webhook policy of the functions in AWS (no
// http:// URLs) and no liveness measures in results.
var lambdaLike = map[string]string{"FACELAMBDA_WEBHOOK_ALLOW_HTTP": "0", "FACELAMBDA_WEBHOOK_ALLOW": "",
	"FACELAMBDA_LIVENESS_MEASURES": "0"}

// build is the component tests' service: app.Build (apptest.Graph) with
// lambdaLike and every part, seeded with the fixture the events refer to.
func build(t *testing.T) *app.Graph {
	t.Helper()
	g := apptest.Graph(t, app.Everything, lambdaLike)
	g.Embedded.BaseURL = "https://uploads.example"
	img, err := app.FixtureImages(testkit.Testdata(t, "faces"))
	require.NoError(t, err)
	require.NoError(t, app.SeedAll(t.Context(), g.Deps, img, time.Now()))
	return g
}
