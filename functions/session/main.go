// Command session is the session Lambda function: it only wires the service (see
// internal/server) and serves its handler through the API Gateway proxy.
package main

import (
	"context"

	"github.com/facelambda/facelambda/internal/httpapi"
	"github.com/facelambda/facelambda/internal/lambdahttp"
	"github.com/facelambda/facelambda/internal/server"
)

func main() {
	server.JSONLogs()
	deps := server.Must(server.LambdaDeps(context.Background(), server.Need{Webhooks: true}))
	lambdahttp.Start(httpapi.SessionHandler(deps))
}
