// Package cli implements the facelambda command: serve, eval, calibrate,
// bench and the other tools. It parses flags, calls the packages that do
// the work (evaluation for the metrics and protocols) and prints: human
// text, or JSON with --json. The commands are listed once, in commands.go.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Command is one entry of the command tree.
type Command struct {
	Name string
	// Args sketches the main flags, for the usage lines.
	Args string
	// Help is the one-line description.
	Help string
	// Run runs the command with the arguments after its words; nil when
	// the command only groups subcommands.
	Run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	Subs []*Command
}

// Exit codes of Run.
const (
	ExitOK    = 0
	ExitError = 1 // the command failed
	ExitUsage = 2 // unknown command or bad flags
)

// root is the command tree (set in init: the tree refers to the run
// functions, whose usage refers back to it).
var root *Command

func init() { root = commands() }

// Run executes the command line (without the program name) and returns the
// exit code. -h, --help and `help [COMMAND...]` print usage to stdout and
// exit 0 at every level.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "help" {
		args = append(append([]string{}, args[1:]...), "--help")
	}
	if len(args) == 0 {
		writeUsage(stdout, root, nil, nil)
		return ExitOK
	}
	return dispatch(ctx, root, nil, args, stdout, stderr)
}

// dispatch runs c (reached by the words in path) on args.
func dispatch(ctx context.Context, c *Command, path, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if sub := c.sub(args[0]); sub != nil {
			return dispatch(ctx, sub, append(path, sub.Name), args[1:], stdout, stderr)
		}
	}
	if c.Run == nil {
		switch {
		case len(args) > 0 && isHelp(args[0]):
			writeUsage(stdout, c, path, nil)
			return ExitOK
		case len(args) == 0:
			fmt.Fprintf(stderr, "facelambda: %s needs a command\n", strings.Join(path, " "))
		default:
			fmt.Fprintf(stderr, "facelambda: unknown command %q\n", strings.Join(append(path, args[0]), " "))
		}
		writeUsage(stderr, c, path, nil)
		return ExitUsage
	}
	err := c.Run(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage // the flag package has said what is wrong, and the usage followed
	default:
		fmt.Fprintln(stderr, "facelambda:", err)
		return ExitError
	}
}

func (c *Command) sub(name string) *Command {
	for _, s := range c.Subs {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// find returns the command at the words of path ("eval verify"), or nil.
func find(path string) *Command {
	c := root
	for _, w := range strings.Fields(path) {
		if c = c.sub(w); c == nil {
			return nil
		}
	}
	return c
}

// walk calls f for every command under c (not c itself), depth first in
// table order, with its words.
func (c *Command) walk(path []string, f func(path []string, c *Command)) {
	for _, s := range c.Subs {
		p := append(append([]string{}, path...), s.Name)
		f(p, s)
		s.walk(p, f)
	}
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// writeUsage prints the usage of c: its synopsis and help, the commands
// under it, and its flags when fs is given.
func writeUsage(w io.Writer, c *Command, path []string, fs *flag.FlagSet) {
	name := strings.Join(append([]string{"facelambda"}, path...), " ")
	synopsis := name
	if len(c.Subs) > 0 && c.Run == nil {
		synopsis += " COMMAND"
	}
	if c.Args != "" {
		synopsis += " " + c.Args
	}
	if c == root {
		fmt.Fprintf(w, "facelambda: %s\n\nusage: %s [flags]\n", c.Help, synopsis)
	} else {
		fmt.Fprintf(w, "usage: %s\n\n%s\n", synopsis, c.Help)
	}
	if len(c.Subs) > 0 {
		fmt.Fprintln(w, "\ncommands:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		c.walk(path, func(p []string, s *Command) {
			if s.Run != nil {
				fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(strings.Join(p, " ")+" "+s.Args), s.Help)
			}
		})
		tw.Flush()
		fmt.Fprintf(w, "\nRun `%s COMMAND --help` for a command's flags. Add --json for machine-readable output.\n", name)
	}
	if fs != nil {
		fmt.Fprintln(w, "\nflags:")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// errHelpShown is returned by flagSet.Parse after -h or --help printed the
// usage: the command did its job.
var errHelpShown = errors.New("help shown")

// usageError is a bad command line: the flag package printed the reason.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// flagSet is a command's flags. Its Parse prints the command's usage (from
// the command tree) to stdout on -h or --help, and to stderr after a bad
// flag.
type flagSet struct {
	*flag.FlagSet
	stdout io.Writer
}

// newFlags makes the flags of the command whose words are name.
func newFlags(name string, stdout, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // Parse prints it, to the right stream
	return &flagSet{FlagSet: fs, stdout: stdout}
}

// Parse parses args. It returns errHelpShown after printing the usage for
// -h or --help, and a usageError for a bad flag.
func (f *flagSet) Parse(args []string) error {
	err := f.FlagSet.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		f.usage(f.stdout)
		return errHelpShown
	default:
		f.usage(f.Output())
		return usageError{err}
	}
}

// ParseRequired parses args (see Parse), then checks that the named flags
// were given a value (see required).
func (f *flagSet) ParseRequired(args []string, names ...string) error {
	if err := f.Parse(args); err != nil {
		return err
	}
	return required(f, names...)
}

func (f *flagSet) usage(w io.Writer) {
	c := find(f.Name())
	if c == nil { // not in the tree: the flags alone
		c = &Command{Name: f.Name()}
	}
	writeUsage(w, c, strings.Fields(f.Name()), f.FlagSet)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// required checks that the named flags were given a value.
func required(fs *flagSet, names ...string) error {
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
