// Package apptest builds the service for component tests through the one
// composition root, app.Build, on the embedded store in a temporary folder.
package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/ml/engine/enginetest"
)

// Fake is need with the fake face engine (biometrictest.Engine): the face,
// match, session and enrol routes run without ONNX Runtime. Liveness,
// which needs the passive models, is left out.
func Fake(need app.Need) app.Need {
	need.Engine, need.Liveness = biometrictest.Engine{}, false
	return need
}

// Settings are the component tests' settings: the embedded store in a
// fresh folder, webhooks that may call http:// URLs on the loopback
// network, and liveness results with their measures.
func Settings(t testing.TB) map[string]string {
	return map[string]string{"FACELAMBDA_STORE": config.StoreEmbedded, "FACELAMBDA_DATA_DIR": t.TempDir(),
		"FACELAMBDA_WEBHOOK_ALLOW_HTTP": "1", "FACELAMBDA_WEBHOOK_ALLOW": "127.0.0.0/8",
		"FACELAMBDA_LIVENESS_MEASURES": "1"}
}

// Graph is app.Build of the environment's configuration with Settings and
// then overrides in its place, with the parts need asks; it is closed when
// the test ends. A graph that needs the models skips the test, saying so,
// when the layers are absent.
func Graph(t testing.TB, need app.Need, overrides map[string]string) *app.Graph {
	t.Helper()
	settings := Settings(t)
	for k, v := range overrides {
		settings[k] = v
	}
	cfg, err := config.LoadWith(settings)
	if err != nil {
		t.Fatal(err)
	}
	if need.Engine == nil && (need.Models || need.Enroll || need.Liveness) {
		RequireModels(t)
	}
	g, err := app.Build(context.Background(), cfg, need)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// RequireModels skips the test, saying so, when the models or ONNX Runtime
// of the environment's configuration (the repository's layers/ by default)
// are absent.
func RequireModels(t testing.TB) {
	t.Helper()
	enginetest.Config(t)
}

// Key creates an API key of tenant with every scope in g's store.
func Key(t testing.TB, g *app.Graph, tenant string) string {
	t.Helper()
	k, _, err := auth.Create(context.Background(), g.Deps.Keys, tenant, "test", []string{auth.ScopeAll}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k
}
