package lambdahttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Timeouts of the plain HTTP server. Reads allow a 31 MB body on a slow link;
// writes allow the heaviest request's computation; the shutdown grace fits
// in ECS's default 30 s between SIGTERM and SIGKILL.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 120 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownGrace     = 25 * time.Second
)

// StartOrListen serves h as this process's Lambda function when inLambda
// (config.Server: AWS_LAMBDA_RUNTIME_API is set), and otherwise as a plain
// HTTP server on addr (FACELAMBDA_LISTEN) until SIGTERM or SIGINT, which
// drain in-flight requests (ECS stops tasks with SIGTERM). It does not
// return; a server failure exits with status 1.
func StartOrListen(h http.Handler, inLambda bool, addr string) {
	if inLambda {
		Start(h)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Listen(ctx, h, addr); err != nil {
		slog.Error("http server failed", "addr", addr, "err", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Listen serves h on addr until ctx is done, then shuts down gracefully.
func Listen(ctx context.Context, h http.Handler, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return Serve(ctx, h, ln)
}

// Serve serves h on ln until ctx is done, then stops accepting connections
// and waits (up to 25 s) for in-flight requests to finish. It closes ln and
// returns nil after a clean shutdown.
func Serve(ctx context.Context, h http.Handler, ln net.Listener) error {
	return ServeServer(ctx, NewServer(h), ln)
}

// NewServer returns the HTTP server of h with the read, write and idle
// timeouts of Serve.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
}

// ServeServer serves srv on ln as Serve does.
func ServeServer(ctx context.Context, srv *http.Server, ln net.Listener) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	slog.Info("http server listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	slog.Info("http server shutting down", "addr", ln.Addr().String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown of %s: %w", ln.Addr(), err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	return nil
}
