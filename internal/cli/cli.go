// Package cli implements the facelambda command: serve, eval, calibrate,
// bench. Output is human text, or JSON with --json.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `facelambda: serverless face biometrics, local tools

usage:
  facelambda serve     [--addr :3000] [--data .data]   serve every function's API locally (embedded store)
  facelambda eval verify --root DIR --pairs FILE       verification accuracy on a pairs file
  facelambda eval detect --root DIR --labels FILE      detection counts and box recall
  facelambda calibrate --root DIR [--out FILE]         build the score/FAR table from impostor pairs
  facelambda bench     [--json]                        model and end-to-end latency
  facelambda invoke    --function NAME --event FILE    run a function binary on an event, as sam local invoke does
  facelambda keys create --tenant T [--scopes a,b]     create an API key (local store, or --store aws)
  facelambda load      --key K [--url U]               load-test a running server with bio-session flows
  facelambda setup-local --dynamodb URL --s3 URL       table, bucket and events fixture on local AWS servers

Add --json for machine-readable output.`

// command runs one subcommand with its remaining arguments.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// registered holds subcommands added by other files of this package
// (register in an init function): the key is the command's words, such as
// "eval liveness" or "bench identify", and usage its help line.
var registered = map[string]command{}
var registeredUsage []string

func register(words, usage string, c command) {
	registered[words] = c
	registeredUsage = append(registeredUsage, usage)
}

// Run executes the command line and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, usage)
		for _, u := range registeredUsage {
			fmt.Fprintln(stdout, "  "+u)
		}
		return 0
	}
	var err error
	if len(args) >= 2 {
		if c, ok := registered[args[0]+" "+args[1]]; ok {
			return exit(c(ctx, args[2:], stdout, stderr), stderr)
		}
	}
	if c, ok := registered[args[0]]; ok {
		return exit(c(ctx, args[1:], stdout, stderr), stderr)
	}
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "eval":
		if len(args) < 2 {
			err = errors.New("eval needs verify or detect")
			break
		}
		switch args[1] {
		case "verify":
			err = evalVerify(ctx, args[2:], stdout, stderr)
		case "detect":
			err = evalDetect(ctx, args[2:], stdout, stderr)
		default:
			err = fmt.Errorf("unknown eval %q (verify, detect)", args[1])
		}
	case "calibrate":
		err = calibrate(ctx, args[1:], stdout, stderr)
	case "bench":
		err = bench(ctx, args[1:], stdout, stderr)
	case "invoke":
		err = invoke(ctx, args[1:], stdout, stderr)
	case "load":
		err = load(ctx, args[1:], stdout, stderr)
	case "keys":
		err = keys(ctx, args[1:], stdout, stderr)
	case "setup-local":
		err = setupLocal(ctx, args[1:], stdout, stderr)
	default:
		err = fmt.Errorf("unknown command %q", args[0])
		fmt.Fprintln(stderr, usage)
	}
	return exit(err, stderr)
}

func exit(err error, stderr io.Writer) int {
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "facelambda:", err)
		}
		return 1
	}
	return 0
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func required(fs *flag.FlagSet, names ...string) error {
	var missing []string
	for _, n := range names {
		if f := fs.Lookup(n); f == nil || f.Value.String() == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: missing %s", fs.Name(), strings.Join(missing, ", "))
	}
	return nil
}

func progress(stderr io.Writer, label string) func(done, total int) {
	return func(done, total int) {
		if done%500 == 0 || done == total {
			fmt.Fprintf(stderr, "\r%s: %d/%d", label, done, total)
			if done == total {
				fmt.Fprintln(stderr)
			}
		}
	}
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
