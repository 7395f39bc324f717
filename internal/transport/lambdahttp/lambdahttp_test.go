package lambdahttp_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/transport/httpapi"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

// TestAccessLogCarriesLambdaIDs: through the Lambda adapter, the access
// log line of a request carries the Lambda request id, API Gateway's
// request id, the Reference-Number and the X-Request-Id the response has.
func TestAccessLogCarriesLambdaIDs(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	fn := lambdahttp.Handler(httpapi.SessionHandler(&httpapi.Deps{}))
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})
	res, err := fn(ctx, events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/v2/nothing",
		Headers:        map[string]string{"reference-number": "order-9", "x-request-id": "client-id-7"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "apigw-req-1", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/v2/nothing"}}})
	require.NoError(t, err)
	assert.Equal(t, 404, res.StatusCode)
	var line map[string]any
	for l := range bytes.SplitSeq(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(l, &m))
		if m["msg"] == "request" {
			line = m
		}
	}
	require.NotNil(t, line, buf.String())
	assert.Equal(t, "lambda-req-1", line["lambda_request_id"])
	assert.Equal(t, "apigw-req-1", line["apigw_request_id"])
	assert.Equal(t, "order-9", line["reference_number"])
	assert.Equal(t, "client-id-7", line["request_id"])
	assert.Equal(t, "client-id-7", res.Headers["X-Request-Id"])
}
