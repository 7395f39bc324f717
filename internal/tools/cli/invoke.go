package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/facelambda/facelambda/internal/tools/evaluation/fixture"
	"github.com/facelambda/facelambda/internal/tools/runtimeapi"
)

// invoke runs a built function binary on an event file through the Lambda
// Runtime API, as `sam local invoke` does inside its container.
func invoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("invoke", stdout, stderr)
	fn := fs.String("function", "", "function name (face, match)")
	binary := fs.String("binary", "", "bootstrap binary (default .aws-sam/build/<Function>/bootstrap or bin/<function>/bootstrap)")
	event := fs.String("event", "", "event JSON file (see events/)")
	timeout := fs.Duration("timeout", 60*time.Second, "invocation timeout")
	expect := fs.Bool("expect-status", false, "fail unless the HTTP status is the one the event's name gives (name.json: 200, name.415.json: 415)")
	if err := fs.ParseRequired(args, "event"); err != nil {
		return err
	}
	if *binary == "" {
		if *fn == "" {
			return errors.New("invoke: give --function or --binary")
		}
		*binary = filepath.Join("bin", *fn, "bootstrap")
	}
	ev, err := os.ReadFile(*event)
	if err != nil {
		return err
	}
	res, err := runtimeapi.Invoke(ctx, *binary, nil, ev, *timeout)
	if err != nil {
		return err
	}
	if res.Error != nil {
		fmt.Fprintf(stdout, "%s\n", res.Error)
		return fmt.Errorf("function returned an error")
	}
	fmt.Fprintf(stderr, "invocation took %s\n", res.Duration.Round(time.Millisecond))
	fmt.Fprintf(stdout, "%s\n", res.Response)
	if *expect {
		var r struct {
			StatusCode int `json:"statusCode"`
		}
		if err := json.Unmarshal(res.Response, &r); err != nil {
			return fmt.Errorf("response is not an API Gateway response: %w", err)
		}
		if want := fixture.ExpectedStatus(*event); r.StatusCode != want {
			return fmt.Errorf("%s: status %d, want %d", *event, r.StatusCode, want)
		}
	}
	return nil
}
