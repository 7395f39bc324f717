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
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/liveness"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/webhook"
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
	data := fs.String("data", ".data", "folder of the embedded store and the signing key")
	work := fs.Int("max-image-work", 2, "requests decoding images at once (each 40 MP image takes hundreds of MB); more wait, then get 503")
	wait := fs.Duration("image-work-wait", 2*time.Second, "how long a request waits for image work before 503")
	readTimeout := fs.Duration("read-timeout", 60*time.Second, "time to read a whole request")
	idleTimeout := fs.Duration("idle-timeout", 120*time.Second, "time a kept-alive connection may stay idle")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	deps, st, err := LocalDeps(ctx, *data, "http://"+ln.Addr().String())
	if err != nil {
		ln.Close()
		return err
	}
	defer st.Close()
	key, err := firstKey(ctx, st, *data)
	if err != nil {
		ln.Close()
		return err
	}
	deps.Gate = httpapi.NewGate(*work, *wait)
	h := app.Local(deps, map[string]http.Handler{"PUT /v2/uploads/{key...}": st.UploadHandler(), "GET /v2/downloads/{key...}": st.DownloadHandler()})
	srv := lambdahttp.NewServer(h)
	srv.ReadTimeout, srv.IdleTimeout = *readTimeout, *idleTimeout
	srv.ReadHeaderTimeout = min(srv.ReadHeaderTimeout, *readTimeout)
	slog.Info("serving", "addr", ln.Addr().String(), "data", *data, "max_image_work", *work)
	fmt.Fprintf(stdout, "facelambda listening on http://%s (store %s)\n", ln.Addr(), *data)
	if key != "" {
		fmt.Fprintf(stdout, "first API key of tenant %q (all scopes; shown once, keep it):\n%s\n", LocalTenant, key)
	}
	return lambdahttp.ServeServer(ctx, srv, ln)
}

// LocalDeps builds the local server's dependencies: the real engine, the
// embedded store in dir and a signing key kept in dir.
func LocalDeps(ctx context.Context, dir, baseURL string) (*httpapi.Deps, *embedded.Store, error) {
	svc, err := app.Service()
	if err != nil {
		return nil, nil, err
	}
	// One master key seals templates, capture keys, face templates and
	// every stored image and recording.
	keys, err := envelope.OpenLocalKey(filepath.Join(dir, "template-master.key"))
	if err != nil {
		return nil, nil, err
	}
	st, err := embedded.Open(filepath.Join(dir, "store"), embedded.WithSealer(envelope.NewSealer(keys, envelope.Options{})))
	if err != nil {
		return nil, nil, err
	}
	st.BaseURL = baseURL
	signer, err := signing.LoadOrCreateLocal(filepath.Join(dir, "signing-key.pem"))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	cfg := app.ConfigFromEnv()
	cfg.AllowHTTPCallbacks = true
	enc := svc.Encoder()
	d := &httpapi.Deps{Bio: svc, Encoder: enc, Records: app.SealedRecords(st, keys), Blobs: st, Keys: st, Classes: st, Usage: st, Signer: signer, Config: cfg,
		ModelsReady: func(context.Context) error { return nil }}
	app.WithEnroll(d, keys)
	app.WithActive(d, keys)
	d.Active.ExposeChecks = os.Getenv("FACELAMBDA_LIVENESS_MEASURES") != "0" // development: show the measures
	// What the bucket's object-created notification does in AWS: a capture
	// uploaded through a presigned URL is analysed once stored.
	st.OnUpload = func(key string) {
		if strings.HasPrefix(key, liveness.UploadPrefix) {
			go func() {
				if err := d.LivenessService().ProcessUpload(context.Background(), key, time.Now()); err != nil {
					slog.Error("liveness upload", "key", key, "err", err)
				}
			}()
		}
	}
	if d.Liveness, err = app.LoadLiveness(); err != nil {
		st.Close()
		return nil, nil, err
	}
	policy := webhook.Policy{AllowHTTP: true}
	if v := os.Getenv("FACELAMBDA_WEBHOOK_ALLOW"); v != "" {
		if policy.Allow, err = webhook.ParsePrefixes(v); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	if err := app.WithLocalWebhooks(d, st, st, filepath.Join(dir, "webhook.key"), policy); err != nil {
		st.Close()
		return nil, nil, err
	}
	return d, st, nil
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
