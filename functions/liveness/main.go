// Command liveness is the liveness Lambda function: it reads the
// configuration (internal/config), builds the service (internal/app) and
// serves its handler through the API Gateway proxy. The same function takes
// the bucket's object-created events for capture uploads
// (liveness-uploads/), which start active liveness analyses.
package main

import (
	"context"
	"time"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

func main() {
	app.JSONLogs()
	ctx := context.Background()
	cfg := app.Must(config.Load())
	g := app.Must(app.Build(ctx, cfg, app.Need{Liveness: true}))
	h := app.Must(g.LivenessFunction(ctx))
	lambdahttp.StartWithS3(h, func(ctx context.Context, _, key string, created time.Time) error {
		return g.Deps.LivenessService().ProcessUpload(ctx, key, created)
	})
}
