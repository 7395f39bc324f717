package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/testkit"
)

// docRows reads the rows of the table under "## Variables" in
// docs/configuration.md: name (without backticks) -> cells.
func docRows(t *testing.T) (names []string, rows map[string][]string) {
	b, err := os.ReadFile(testkit.Path(t, "docs", "configuration.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "\n## Variables\n")
	require.True(t, ok, "docs/configuration.md has no ## Variables section")
	section, _, _ = strings.Cut(section, "\n## ")
	rows = map[string][]string{}
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		require.Len(t, cells, 5, line)
		name := strings.Trim(cells[0], "`")
		_, dup := rows[name]
		require.False(t, dup, "%s listed twice", name)
		names, rows[name] = append(names, name), cells
	}
	return names, rows
}

// TestDocsTableMatchesVariables: the documented table lists exactly the
// variables config reads, with their types and defaults.
func TestDocsTableMatchesVariables(t *testing.T) {
	names, rows := docRows(t)
	var want []string
	for _, v := range config.Variables() {
		want = append(want, v.Name)
		if r, ok := rows[v.Name]; ok {
			assert.Equal(t, []string{v.Type, v.Default, v.Used, v.Meaning}, r[1:], v.Name)
		}
	}
	assert.ElementsMatch(t, want, names, "docs/configuration.md and config.Variables differ")
}
