package handoff

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// DefaultTimeout bounds one hand-off when none is given. It leaves room,
// under API Gateway's 30 s, to serve the request locally after a GPU
// service that did not answer.
const DefaultTimeout = 12 * time.Second

// Remote returns the GPU service named by function (a Lambda function name
// or ARN, invoked with the default AWS configuration) or base (an https
// base URL, see NewHTTP), each call bounded by timeout (DefaultTimeout when
// 0). With neither it returns nil, nil: Wrap then serves everything
// locally. Giving both is an error. internal/config reads them from
// FACELAMBDA_HEAVY_LIVENESS_FUNCTION, _URL and _TIMEOUT.
func Remote(ctx context.Context, function, base string, timeout time.Duration) (http.Handler, error) {
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("handoff: timeout %s is not positive", timeout)
	}
	switch {
	case function != "" && base != "":
		return nil, fmt.Errorf("handoff: give a function or a URL, not both")
	case base != "":
		return NewHTTP(base, timeout)
	case function != "":
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("handoff: AWS configuration: %w", err)
		}
		return withTimeout(NewLambda(lambda.NewFromConfig(cfg), function), timeout), nil
	}
	return nil, nil
}
