// Command webhook is the webhook dispatch Lambda function, triggered by the
// events queue: it delivers each event to the tenant's webhooks, retries
// through the queue and reports partial batch failures.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/facelambda/facelambda/internal/app"
)

func main() {
	app.JSONLogs()
	d := app.Must(app.WebhookDispatcher(context.Background()))
	lambda.Start(d.HandleSQS)
}
