package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

// LocalTenant is the tenant `serve` creates a first API key for.
const LocalTenant = "local"

// serve runs every function's handler on one local port, as API Gateway
// routes them in template.yaml, on the embedded store under --data.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stdout, stderr)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address")
	data := fs.String("data", "", "folder of the embedded store and its keys (default $FACELAMBDA_DATA_DIR, else .data)")
	work := fs.Int("max-image-work", 2, "requests decoding images at once (each 40 MP image takes hundreds of MB); more wait, then get 503")
	wait := fs.Duration("image-work-wait", 2*time.Second, "how long a request waits for image work before 503")
	readTimeout := fs.Duration("read-timeout", 60*time.Second, "time to read a whole request")
	idleTimeout := fs.Duration("idle-timeout", 120*time.Second, "time a kept-alive connection may stay idle")
	var fixed string
	var draw func(uint64, int) ([]challenge.Action, error)
	fs.Func("test-fixed-challenges", "TEST ONLY (the browser test): every liveness attempt gets these challenges, comma-separated (TURN_LEFT,BLINK), instead of a random draw; never in production", func(v string) (err error) {
		fixed = v
		draw, err = fixedDraw(v)
		return err
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	g, err := localGraph(ctx, *data, "http://"+ln.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	defer g.Close()
	dir := g.Config.Store.DataDir
	key, err := firstKey(ctx, g.Embedded, dir)
	if err != nil {
		ln.Close()
		return err
	}
	g.Deps.Gate = httpapi.NewGate(*work, *wait)
	if draw != nil && g.Deps.Active != nil {
		g.Deps.Active.DrawChallenges = draw
		slog.Warn("TEST ONLY: every liveness attempt gets the fixed challenges", "challenges", fixed)
	}
	base := "http://" + ln.Addr().String()
	dk, err := demoKey(ctx, g.Embedded, dir)
	if err != nil {
		ln.Close()
		return err
	}
	h := withDemo(g.Local(), &demoBackend{api: base, key: dk, client: &http.Client{Timeout: 30 * time.Second}})
	srv := lambdahttp.NewServer(h)
	srv.ReadTimeout, srv.IdleTimeout = *readTimeout, *idleTimeout
	srv.ReadHeaderTimeout = min(srv.ReadHeaderTimeout, *readTimeout)
	slog.Info("serving", "addr", ln.Addr().String(), "data", dir, "max_image_work", *work)
	fmt.Fprintf(stdout, "facelambda listening on http://%s (store %s)\n", ln.Addr(), dir)
	fmt.Fprintf(stdout, "try liveness in your browser: %s/demo/ (a local example backend; the page itself is %s/web/liveness.html)\n", base, base)
	if key != "" {
		fmt.Fprintf(stdout, "first API key of tenant %q (all scopes; shown once, keep it):\n%s\n", LocalTenant, key)
	}
	return lambdahttp.ServeServer(ctx, srv, ln)
}

// localGraph builds the local server: the environment's configuration
// (docs/configuration.md) with the embedded store (FACELAMBDA_STORE=embedded)
// in dir when given, every function's parts, uploads on baseURL. Its keys
// are in the data folder unless the environment names others.
func localGraph(ctx context.Context, dir, baseURL string) (*app.Graph, error) {
	over := map[string]string{"FACELAMBDA_STORE": config.StoreEmbedded}
	if dir != "" {
		over["FACELAMBDA_DATA_DIR"] = dir
	}
	cfg, err := config.LoadWith(over)
	if err != nil {
		return nil, err
	}
	g, err := app.Build(ctx, cfg, app.Everything)
	if err != nil {
		return nil, err
	}
	g.Embedded.BaseURL = baseURL
	return g, nil
}

// firstKey creates an API key for the local tenant the first time the data
// folder is served (marked by the file first-key-created in it).
func firstKey(ctx context.Context, st *embedded.Store, dir string) (string, error) {
	marker := filepath.Join(dir, "first-key-created")
	if _, err := os.Stat(marker); err == nil {
		return "", nil
	}
	plain, _, err := auth.Create(ctx, st, LocalTenant, "first", []string{auth.ScopeAll}, time.Now())
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return "", err
	}
	return plain, nil
}

// fixedDraw parses --test-fixed-challenges (action names, comma-separated)
// into a draw answering that list for every seed and count.
func fixedDraw(list string) (func(uint64, int) ([]challenge.Action, error), error) {
	names := strings.Split(list, ",")
	if len(names) > challenge.MaxChallenges {
		return nil, fmt.Errorf("%d challenges, at most %d", len(names), challenge.MaxChallenges)
	}
	acts := make([]challenge.Action, len(names))
	for i, n := range names {
		a, err := challenge.ParseAction(n)
		if err != nil {
			return nil, fmt.Errorf("%w (one of %v)", err, challenge.Actions)
		}
		acts[i] = a
	}
	return func(uint64, int) ([]challenge.Action, error) { return slices.Clone(acts), nil }, nil
}
