package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/testkit"
)

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// registered lists the words of every command and subcommand of the tree.
func registered() [][]string {
	var all [][]string
	root.walk(nil, func(p []string, _ *Command) { all = append(all, p) })
	return all
}

func TestRegistryIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	all := registered()
	require.NotEmpty(t, all)
	for _, p := range all {
		name := strings.Join(p, " ")
		c := find(name)
		require.NotNil(t, c, name)
		assert.False(t, seen[name], "%s is registered twice", name)
		seen[name] = true
		assert.NotEmpty(t, c.Help, "%s has no help line", name)
		assert.False(t, c.Run == nil && len(c.Subs) == 0, "%s runs nothing", name)
	}
	for _, want := range []string{"serve", "eval verify", "eval detect", "eval identify", "eval liveness", "eval active",
		"eval planarity", "eval template-fusion", "calibrate", "calibrate liveness", "bench", "bench identify",
		"invoke", "keys create", "load", "setup-local", "capture"} {
		assert.True(t, seen[want], "%s is not registered", want)
	}
}

// Every level answers -h, --help and `help WORDS...` with its usage on
// stdout and exit 0, and runs nothing.
func TestHelpAtEveryLevel(t *testing.T) {
	cases := [][]string{{}}
	cases = append(cases, registered()...)
	for _, words := range cases {
		name := strings.Join(words, " ")
		forms := map[string][]string{
			"--help": append(append([]string{}, words...), "--help"),
			"-h":     append(append([]string{}, words...), "-h"),
			"help":   append([]string{"help"}, words...),
		}
		for form, args := range forms {
			t.Run(name+" "+form, func(t *testing.T) {
				code, out, errOut := run(args...)
				assert.Equal(t, ExitOK, code, errOut)
				assert.Empty(t, errOut)
				if len(words) == 0 {
					assert.Contains(t, out, "usage: facelambda COMMAND")
					for _, p := range registered() {
						if c := find(strings.Join(p, " ")); c.Run != nil {
							assert.Contains(t, out, "  "+strings.Join(p, " ")+" ", "top usage lists %v", p)
						}
					}
					return
				}
				c := find(name)
				assert.True(t, strings.HasPrefix(out, "usage: facelambda "+name), out)
				assert.Contains(t, out, c.Help)
				if c.Run != nil {
					assert.Contains(t, out, "\nflags:\n")
				}
				for _, s := range c.Subs {
					assert.Contains(t, out, name+" "+s.Name, "usage of %s lists %s", name, s.Name)
				}
			})
		}
	}
	// No arguments at all is the top usage too.
	code, out, _ := run()
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out, "usage: facelambda COMMAND")
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		message string // in stderr
		usage   string // the usage printed after it, on stderr
	}{
		{"unknown command", []string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`, "usage: facelambda COMMAND"},
		{"unknown eval", []string{"eval", "frobnicate"}, ExitUsage, `unknown command "eval frobnicate"`, "usage: facelambda eval COMMAND"},
		{"help for an unknown command", []string{"help", "frobnicate"}, ExitUsage, `unknown command "frobnicate"`, "usage: facelambda COMMAND"},
		{"a group alone", []string{"eval"}, ExitUsage, "eval needs a command", "usage: facelambda eval COMMAND"},
		{"keys alone", []string{"keys"}, ExitUsage, "keys needs a command", "usage: facelambda keys COMMAND"},
		{"unknown flag", []string{"eval", "verify", "--frobnicate"}, ExitUsage, "flag provided but not defined: -frobnicate", "usage: facelambda eval verify"},
		{"unknown flag of a subcommand", []string{"bench", "identify", "--frobnicate"}, ExitUsage, "flag provided but not defined", "usage: facelambda bench identify"},
		{"bad flag value", []string{"eval", "active", "--identities", "many"}, ExitUsage, "invalid value", "usage: facelambda eval active"},
		{"missing flags", []string{"eval", "verify"}, ExitError, "eval verify: missing --root, --pairs", ""},
		{"passive-loso without data", []string{"eval", "passive-loso"}, ExitError, "eval passive-loso: missing --data", ""},
		{"passive-loso unknown level", []string{"eval", "passive-loso", "--data", ".", "--level", "EXTREME"}, ExitError, "unknown security level", ""},
		{"calibrate liveness without a source", []string{"calibrate", "liveness"}, ExitError, "calibrate liveness: missing --root, --labels", ""},
		{"unknown level", []string{"eval", "liveness", "--root", ".", "--labels", "x.tsv", "--level", "EXTREME"}, ExitError, "unknown security level", ""},
		{"invoke without a function", []string{"invoke", "--event", filepath.Join(testkit.Path(t, "events"), "face", "x.json")}, ExitError, "give --function or --binary", ""},
		{"bad bench identify size", []string{"bench", "identify", "--size", "zero"}, ExitError, `bad --size "zero"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(tt.args...)
			assert.Equal(t, tt.code, code, errOut)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tt.message)
			if tt.usage != "" {
				assert.Contains(t, errOut, tt.usage)
			} else {
				assert.NotContains(t, errOut, "usage:")
			}
		})
	}
}
