// Command session is the session Lambda function: it only wires the service (see
// internal/app) and serves its handler through the API Gateway proxy.
package main

import (
	"context"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/transport/httpapi"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

func main() {
	app.JSONLogs()
	deps := app.Must(app.LambdaDeps(context.Background(), app.Need{Webhooks: true}))
	lambdahttp.Start(httpapi.SessionHandler(deps))
}
