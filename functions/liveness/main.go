// Command liveness is the liveness Lambda function: it only wires the service
// (see internal/server) and serves its handler through the API Gateway proxy.
package main

import (
	"context"

	"github.com/facelambda/facelambda/internal/httpapi"
	"github.com/facelambda/facelambda/internal/lambdahttp"
	"github.com/facelambda/facelambda/internal/server"
)

func main() {
	server.JSONLogs()
	deps := server.Must(server.LambdaDeps(context.Background(), server.Need{Liveness: true}))
	lambdahttp.Start(httpapi.LivenessHandler(deps))
}
