// Package lambdahttp serves an http.Handler as a Lambda function behind an
// API Gateway HTTP API (payload format 2.0), through aws-lambda-go-api-proxy.
package lambdahttp

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/facelambda/facelambda/internal/transport/httpapi"
)

// Func is the Lambda handler of an HTTP API function.
type Func func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler adapts h to a Lambda handler. The access log of each request
// carries the Lambda request id and API Gateway's request id.
func Handler(h http.Handler) Func {
	return httpadapter.NewV2(withLambdaIDs(h)).ProxyWithContext
}

// withLambdaIDs adds the Lambda and API Gateway request ids of the
// invocation to the request's log attributes.
func withLambdaIDs(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var attrs []slog.Attr
		if lc, ok := core.GetRuntimeContextFromContextV2(ctx); ok && lc != nil && lc.AwsRequestID != "" {
			attrs = append(attrs, slog.String("lambda_request_id", lc.AwsRequestID))
		} else if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
			attrs = append(attrs, slog.String("lambda_request_id", lc.AwsRequestID))
		}
		if gw, ok := core.GetAPIGatewayV2ContextFromContext(ctx); ok && gw.RequestID != "" {
			attrs = append(attrs, slog.String("apigw_request_id", gw.RequestID))
		}
		if len(attrs) > 0 {
			r = r.WithContext(httpapi.WithLogAttrs(ctx, attrs...))
		}
		h.ServeHTTP(w, r)
	})
}

// Start runs h as the Lambda function of this process (it does not return).
func Start(h http.Handler) { lambda.Start(Handler(h)) }
