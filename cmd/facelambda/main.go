// Command facelambda is the project's one CLI: the local server, the
// evaluation and calibration commands, and the benchmarks. See
// `facelambda help`.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/facelambda/facelambda/internal/tools/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
