// Command face is the face Lambda function: it reads the configuration
// (internal/config), builds the service (internal/app) and serves its
// handler through the API Gateway proxy.
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
	g := app.Must(app.Build(context.Background(), cfg, app.Need{Models: true}))
	lambdahttp.Start(g.Handler("face"))
}
