package handoff

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/uid"
)

// Invoker invokes a Lambda function; *lambda.Client satisfies it.
type Invoker interface {
	Invoke(ctx context.Context, params *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// NewLambda returns a handler that serves each request by invoking function
// (a name, ARN or alias ARN) synchronously with the API Gateway HTTP API
// (payload 2.0) event of the request, and writes the function's API Gateway
// response. When the request was itself converted from such an event (in a
// Lambda function served by lambdahttp), the original request context
// (request id, stage, domain, authorizer) is passed on. A failed invocation
// or a function error answers 502 GPU_UNAVAILABLE, which Wrap treats as a
// failure and serves locally. Synchronous invocations carry at most 6 MB each
// way: a larger request fails the same way.
func NewLambda(client Invoker, function string) http.Handler {
	return &lambdaHandoff{client: client, function: function}
}

type lambdaHandoff struct {
	client   Invoker
	function string
}

func (h *lambdaHandoff) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ev, err := RequestEvent(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, fault.CodeInvalidRequest, "the request body could not be read")
		return
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		h.fail(w, r, fmt.Errorf("encode event: %w", err))
		return
	}
	out, err := h.client.Invoke(r.Context(), &lambda.InvokeInput{
		FunctionName:   aws.String(h.function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		h.fail(w, r, fmt.Errorf("invoke: %w", err))
		return
	}
	if out.FunctionError != nil {
		h.fail(w, r, fmt.Errorf("function error %s: %s", *out.FunctionError, snippet(out.Payload, 500)))
		return
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		h.fail(w, r, fmt.Errorf("decode response: %w", err))
		return
	}
	if err := WriteResponse(w, resp); err != nil {
		h.fail(w, r, err)
	}
}

func (h *lambdaHandoff) fail(w http.ResponseWriter, r *http.Request, err error) {
	slog.WarnContext(r.Context(), "handoff: GPU function failed",
		"function", h.function, "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusBadGateway, fault.CodeGPUUnavailable, "the GPU service failed")
}

// hopHeaders are connection-level headers, not part of an API Gateway event.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// RequestEvent builds the API Gateway HTTP API (payload 2.0) event of r, as
// API Gateway would have sent it: lower-case header names with repeated
// values joined by commas, cookies apart, the body base64-encoded when it is
// not UTF-8 text. It reads r.Body.
func RequestEvent(r *http.Request) (events.APIGatewayV2HTTPRequest, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return events.APIGatewayV2HTTPRequest{}, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
	}
	for k, vs := range r.Header {
		switch {
		case hopHeaders[k]:
		case k == "Cookie":
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
		default:
			ev.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
		}
	}
	if r.Host != "" {
		ev.Headers["host"] = r.Host
	}
	if len(body) > 0 {
		ev.Headers["content-length"] = strconv.Itoa(len(body))
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}

	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok {
		now := time.Now().UTC()
		rc = events.APIGatewayV2HTTPRequestContext{
			RouteKey: "$default", Stage: "$default", RequestID: uid.New(),
			Time: now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
		}
		rc.HTTP.SourceIP = r.RemoteAddr
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			rc.HTTP.SourceIP = host
		}
	}
	if rc.DomainName == "" {
		rc.DomainName = r.Host
	}
	ev.RouteKey = rc.RouteKey
	rc.HTTP.Method = r.Method
	rc.HTTP.Path = r.URL.Path
	rc.HTTP.Protocol = r.Proto
	rc.HTTP.UserAgent = r.UserAgent()
	ev.RequestContext = rc
	return ev, nil
}

// WriteResponse writes an API Gateway HTTP API response to w: its status,
// headers, cookies (as Set-Cookie) and body (decoded when base64-encoded).
func WriteResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) error {
	if resp.StatusCode < 100 || resp.StatusCode > 999 {
		return fmt.Errorf("response has no valid status code (%d)", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("response body: %w", err)
		}
		body = b
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return nil
}
