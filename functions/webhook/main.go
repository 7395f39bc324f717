// Command webhook is the webhook dispatch Lambda function, triggered by the
// events queue: it delivers each event to the tenant's webhooks, retries
// through the queue and reports partial batch failures.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
)

func main() {
	app.JSONLogs()
	cfg := app.Must(config.Load())
	g := app.Must(app.Build(context.Background(), cfg, app.Need{Dispatch: true}))
	lambda.Start(g.Deps.Dispatcher.HandleSQS)
}
