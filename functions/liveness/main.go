// Command liveness is the liveness Lambda function: it only wires the service
// (see internal/server) and serves its handler through the API Gateway proxy.
// The same function takes the bucket's object-created events for capture
// uploads (liveness-uploads/), which start active liveness analyses.
package main

import (
	"context"
	"time"

	"github.com/facelambda/facelambda/internal/lambdahttp"
	"github.com/facelambda/facelambda/internal/server"
)

func main() {
	server.JSONLogs()
	ctx := context.Background()
	deps := server.Must(server.LambdaDeps(ctx, server.Need{Liveness: true}))
	h := server.Must(server.LivenessFunction(ctx, deps))
	lambdahttp.StartWithS3(h, func(ctx context.Context, _, key string, created time.Time) error {
		return deps.ProcessLivenessUpload(ctx, key, created)
	})
}
