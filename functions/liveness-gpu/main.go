// Command liveness-gpu is the heavy liveness service: the liveness handler
// of the liveness function, with ONNX Runtime's CUDA provider when a GPU is
// present (FACELAMBDA_ORT_PROVIDER=auto) and the CPU otherwise. It runs as
// a container-image Lambda function, or as an HTTP server on
// FACELAMBDA_LISTEN (default :8080) on a GPU host (docs/liveness-gpu.md).
package main

import (
	"context"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

func main() {
	app.JSONLogs()
	cfg := app.Must(config.Load())
	g := app.Must(app.Build(context.Background(), cfg, app.Need{Liveness: true}))
	lambdahttp.StartOrListen(app.GPUService(g.Deps), cfg.Server.InLambda, cfg.Server.Listen)
}
