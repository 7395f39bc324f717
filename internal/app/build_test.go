package app_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
)

// TestBuildSameSettingsOnEveryBackend: the liveness function in AWS and the
// local server (embedded store) build active liveness and enrolment from
// the same settings with the same defaults. FACELAMBDA_LIVENESS_MEASURES
// used to be on locally and off in Lambda.
func TestBuildSameSettingsOnEveryBackend(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_REGION", "eu-west-1")
	for _, measures := range []string{"", "1", "0"} {
		for _, backend := range []string{config.StoreAWS, config.StoreEmbedded} {
			t.Run(backend+"/measures="+measures, func(t *testing.T) {
				dir := t.TempDir()
				cfg, err := config.LoadWith(map[string]string{"FACELAMBDA_STORE": backend, "FACELAMBDA_DATA_DIR": dir,
					"FACELAMBDA_TABLE": "t", "FACELAMBDA_BUCKET": "b", "FACELAMBDA_TEMPLATE_KEY_FILE": filepath.Join(dir, "t.key"),
					"FACELAMBDA_LIVENESS_MEASURES": measures, "FACELAMBDA_STORE_THUMBNAILS": measures})
				require.NoError(t, err)
				g, err := app.Build(t.Context(), cfg, app.Need{Liveness: true, Enroll: true})
				require.NoError(t, err, "run `make layers`")
				defer g.Close()
				require.NotNil(t, g.Deps.Active)
				assert.Equal(t, measures == "1", g.Deps.Active.ExposeChecks)
				assert.Equal(t, measures != "0", g.Deps.Enroll.Thumbnails)
				assert.Equal(t, backend == config.StoreEmbedded, g.Embedded != nil)
			})
		}
	}
}
