// Command liveness is the liveness Lambda function: it only wires the service
// (see internal/app) and serves its handler through the API Gateway proxy.
// The same function takes the bucket's object-created events for capture
// uploads (liveness-uploads/), which start active liveness analyses.
package main

import (
	"context"
	"time"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

func main() {
	app.JSONLogs()
	ctx := context.Background()
	deps := app.Must(app.LambdaDeps(ctx, app.Need{Liveness: true}))
	h := app.Must(app.LivenessFunction(ctx, deps))
	uploads := deps.LivenessService()
	lambdahttp.StartWithS3(h, func(ctx context.Context, _, key string, created time.Time) error {
		return uploads.ProcessUpload(ctx, key, created)
	})
}
