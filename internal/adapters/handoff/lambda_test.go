package handoff_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/handoff"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/transport/lambdahttp"
)

// gpuFunction is an Invoker standing in for the liveness-gpu function: it
// decodes the payload as the Lambda runtime would, serves it with the real
// API Gateway adapter, and encodes the response.
type gpuFunction struct {
	t        *testing.T
	serve    lambdahttp.Func
	last     events.APIGatewayV2HTTPRequest
	fail     error   // returned by Invoke
	funcErr  *string // FunctionError of the output
	rawReply []byte  // payload replacing the handler's
}

func (f *gpuFunction) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	assert.Equal(f.t, "liveness-gpu", aws.ToString(in.FunctionName))
	assert.Equal(f.t, types.InvocationTypeRequestResponse, in.InvocationType)
	if f.fail != nil {
		return nil, f.fail
	}
	if f.funcErr != nil {
		return &lambda.InvokeOutput{StatusCode: 200, FunctionError: f.funcErr,
			Payload: []byte(`{"errorMessage":"CUDA out of memory","errorType":"errorString"}`)}, nil
	}
	if f.rawReply != nil {
		return &lambda.InvokeOutput{StatusCode: 200, Payload: f.rawReply}, nil
	}
	f.last = events.APIGatewayV2HTTPRequest{}
	if err := json.Unmarshal(in.Payload, &f.last); err != nil {
		return nil, err
	}
	resp, err := f.serve(ctx, f.last)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(resp)
	return &lambda.InvokeOutput{StatusCode: 200, Payload: b}, err
}

func TestLambdaRoundTrip(t *testing.T) {
	img := jpegLike(48 << 10)
	form, formType := multipartBody(t, img, "HIGHEST")
	for _, tc := range []struct {
		name, path, query, contentType string
		body                           []byte
		wantBase64                     bool
	}{
		{"json", "/v2/liveness", "threshold=HIGHEST&a=%2F", "application/json", []byte(`{"image":"/9j/4AAQ"}`), false},
		{"binary jpeg body and answer", "/image", "", "image/jpeg", img, true},
		{"multipart with binary part", "/v2/liveness", "", formType, form, true},
		{"no body", "/v2/liveness", "status=404", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := &gpuFunction{t: t, serve: lambdahttp.Handler(echoHandler("gpu"))}
			remote := handoff.NewLambda(fn, "liveness-gpu")
			target := tc.path
			if tc.query != "" {
				target += "?" + tc.query
			}
			req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("apikey", "k-123")
			req.Header.Add("X-Custom", "a")
			req.Header.Add("X-Custom", "b")
			req.AddCookie(&http.Cookie{Name: "c1", Value: "1"})
			req.AddCookie(&http.Cookie{Name: "c2", Value: "2"})
			rec := httptest.NewRecorder()
			remote.ServeHTTP(rec, req)

			// The event the GPU function received.
			ev := fn.last
			assert.Equal(t, "2.0", ev.Version)
			assert.Equal(t, tc.path, ev.RawPath)
			assert.Equal(t, tc.query, ev.RawQueryString)
			assert.Equal(t, http.MethodPost, ev.RequestContext.HTTP.Method)
			assert.Equal(t, tc.path, ev.RequestContext.HTTP.Path)
			assert.Equal(t, "192.0.2.1", ev.RequestContext.HTTP.SourceIP)
			assert.Equal(t, "example.com", ev.RequestContext.DomainName)
			assert.Equal(t, "k-123", ev.Headers["apikey"])
			assert.Equal(t, "a,b", ev.Headers["x-custom"])
			assert.Equal(t, []string{"c1=1", "c2=2"}, ev.Cookies)
			assert.NotContains(t, ev.Headers, "cookie")
			assert.Equal(t, tc.wantBase64, ev.IsBase64Encoded)

			// The response the client gets.
			res := rec.Result()
			b, _ := io.ReadAll(res.Body)
			assert.Equal(t, "gpu", res.Header.Get("X-Side"))
			assert.Equal(t, []string{"seen=gpu"}, res.Header.Values("Set-Cookie"))
			if tc.path == "/image" {
				require.Equal(t, http.StatusOK, res.StatusCode)
				assert.Equal(t, "image/jpeg", res.Header.Get("Content-Type"))
				assert.True(t, bytes.Equal(img, b), "binary answer survives the round trip")
				return
			}
			wantStatus := http.StatusOK
			if strings.Contains(tc.query, "status=404") {
				wantStatus = http.StatusNotFound
			}
			require.Equal(t, wantStatus, res.StatusCode, string(b))
			e := decodeEcho(t, b)
			assert.Equal(t, tc.path, e.Path)
			assert.Equal(t, tc.query, e.Query)
			assert.Equal(t, "k-123", e.Headers["Apikey"])
			assert.Equal(t, "a, b", e.Headers["X-Custom"], "the adapter splits the joined values again")
			assert.Equal(t, []string{"c1=1", "c2=2"}, e.Cookies)
			if tc.contentType == formType {
				assert.Equal(t, sum(img), e.Files["image"])
				assert.Equal(t, "HIGHEST", e.Fields["threshold"])
			} else {
				assert.Equal(t, sum(tc.body), e.BodySHA)
			}
		})
	}
}

// TestLambdaPassesGatewayContext runs the hand-off inside a Lambda-served
// handler, as the liveness function does: the GPU function sees the original
// request context.
func TestLambdaPassesGatewayContext(t *testing.T) {
	fn := &gpuFunction{t: t, serve: lambdahttp.Handler(echoHandler("gpu"))}
	cpu := lambdahttp.Handler(handoff.NewLambda(fn, "liveness-gpu"))
	in := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /v2/liveness", RawPath: "/v2/liveness",
		Headers: map[string]string{"content-type": "image/jpeg", "apikey": "k"},
		Body:    "/9j/2Q==", IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-42", Stage: "$default", DomainName: "api.example.com", RouteKey: "POST /v2/liveness",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/v2/liveness", SourceIP: "198.51.100.7"},
		},
	}
	out, err := cpu(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, out.StatusCode, out.Body)
	e := decodeEcho(t, []byte(out.Body))
	assert.Equal(t, "req-42", e.GatewayReq)
	assert.Equal(t, sum([]byte{0xff, 0xd8, 0xff, 0xd9}), e.BodySHA)
	assert.Equal(t, "198.51.100.7", fn.last.RequestContext.HTTP.SourceIP)
	assert.Equal(t, "api.example.com", fn.last.RequestContext.DomainName)
	assert.Equal(t, "POST /v2/liveness", fn.last.RouteKey)
}

func TestLambdaFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   *gpuFunction
	}{
		{"function error", &gpuFunction{funcErr: aws.String("Unhandled")}},
		{"invoke error", &gpuFunction{fail: errors.New("TooManyRequestsException: rate exceeded")}},
		{"payload not a response", &gpuFunction{rawReply: []byte(`"not an object"`)}},
		{"response without status", &gpuFunction{rawReply: []byte(`{"body":"x"}`)}},
		{"bad base64 body", &gpuFunction{rawReply: []byte(`{"statusCode":200,"body":"!!","isBase64Encoded":true}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn.t = t
			rec := httptest.NewRecorder()
			handoff.NewLambda(tc.fn, "liveness-gpu").ServeHTTP(rec,
				httptest.NewRequest(http.MethodPost, "/v2/liveness", strings.NewReader(`{}`)))
			require.Equal(t, http.StatusBadGateway, rec.Code)
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			e := decodeError(t, rec.Body.Bytes())
			assert.Equal(t, fault.CodeGPUUnavailable, e.Code)
			assert.NotEmpty(t, e.ID)
			assert.NotContains(t, e.Message, "CUDA", "details are logged, not sent")
		})
	}
}
