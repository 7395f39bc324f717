package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/runtimeapi"
)

// invoke runs a built function binary on an event file through the Lambda
// Runtime API, as `sam local invoke` does inside its container.
func invoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("invoke", stderr)
	fn := fs.String("function", "", "function name (face, match)")
	binary := fs.String("binary", "", "bootstrap binary (default .aws-sam/build/<Function>/bootstrap or bin/<function>/bootstrap)")
	event := fs.String("event", "", "event JSON file (see events/)")
	timeout := fs.Duration("timeout", 60*time.Second, "invocation timeout")
	expect := fs.Bool("expect-status", false, "fail unless the HTTP status is the one the event's name gives (name.json: 200, name.415.json: 415)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "event"); err != nil {
		return err
	}
	if *binary == "" {
		if *fn == "" {
			return fmt.Errorf("invoke: give --function or --binary: %w", flag.ErrHelp)
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
		if want := ExpectedStatus(*event); r.StatusCode != want {
			return fmt.Errorf("%s: status %d, want %d", *event, r.StatusCode, want)
		}
	}
	return nil
}

// ExpectedStatus reads the HTTP status an event file expects from its name:
// name.json expects 200, name.415.json expects 415.
func ExpectedStatus(path string) int {
	parts := strings.Split(filepath.Base(path), ".")
	if len(parts) == 3 {
		if s, err := strconv.Atoi(parts[1]); err == nil {
			return s
		}
	}
	return 200
}
