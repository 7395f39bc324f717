package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/facelambda/facelambda/internal/server"
)

// serve runs every function's handler on one local port, as API Gateway
// routes them in template.yaml.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	svc, err := server.Service()
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: server.Local(svc), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	slog.Info("serving", "addr", *addr)
	fmt.Fprintf(stdout, "facelambda listening on http://%s (POST /v2/faces, /v2/match/images, /v2/match)\n", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
