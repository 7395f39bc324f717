// Package lambdahttp serves an http.Handler as a Lambda function behind an
// API Gateway HTTP API (payload format 2.0), through aws-lambda-go-api-proxy.
package lambdahttp

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Func is the Lambda handler of an HTTP API function.
type Func func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler adapts h to a Lambda handler.
func Handler(h http.Handler) Func {
	return httpadapter.NewV2(h).ProxyWithContext
}

// Start runs h as the Lambda function of this process (it does not return).
func Start(h http.Handler) { lambda.Start(Handler(h)) }
