package handoff

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// DefaultTimeout bounds one hand-off when <prefix>_TIMEOUT is not set. It
// leaves room, under API Gateway's 30 s, to serve the request locally after
// a GPU service that did not answer.
const DefaultTimeout = 12 * time.Second

// RemoteFromEnv returns the GPU service configured by the environment
// variables <prefix>_FUNCTION (a Lambda function name or ARN, invoked with
// the default AWS configuration), or <prefix>_URL (an https base URL, see
// NewHTTP), and <prefix>_TIMEOUT (a Go duration, default DefaultTimeout).
// With neither set it returns nil, nil: Wrap then serves everything locally.
// Setting both is an error.
func RemoteFromEnv(ctx context.Context, prefix string) (http.Handler, error) {
	function, base := os.Getenv(prefix+"_FUNCTION"), os.Getenv(prefix+"_URL")
	timeout := DefaultTimeout
	if s := os.Getenv(prefix + "_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("handoff: %s_TIMEOUT=%q is not a positive duration (such as 12s)", prefix, s)
		}
		timeout = d
	}
	switch {
	case function != "" && base != "":
		return nil, fmt.Errorf("handoff: set %s_FUNCTION or %s_URL, not both", prefix, prefix)
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
