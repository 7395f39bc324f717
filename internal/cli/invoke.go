package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	return nil
}
