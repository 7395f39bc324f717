package usage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/usage"
)

func code(err error) string {
	var be *fault.Error
	if errors.As(err, &be) {
		return be.Code
	}
	return ""
}

func TestLedger(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	l := usage.Ledger{Items: st}
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	calls := []struct {
		tenant, action string
		at             time.Duration
		status         int
	}{
		{"acme", "match", 0, 200},
		{"acme", "match", time.Second, 400},
		{"acme", "create-face", 2 * time.Second, 201},
		{"acme", "match", time.Hour, 200}, // outside the window below
		{"other", "match", time.Second, 200},
		{"", "match", time.Second, 200}, // no tenant: not recorded
	}
	for i, c := range calls {
		l.Record(ctx, c.tenant, c.action, "tx", string(rune('a'+i)), t0.Add(c.at), c.status)
	}
	tests := []struct {
		name     string
		ledger   usage.Ledger
		from, to time.Time
		total    int
		actions  map[string]map[string]int
		code     string
	}{
		{name: "window", ledger: l, from: t0, to: t0.Add(time.Minute), total: 3,
			actions: map[string]map[string]int{"match": {"success": 1, "error": 1}, "create-face": {"success": 1}}},
		{name: "empty window", ledger: l, from: t0.Add(-time.Hour), to: t0, total: 0, actions: map[string]map[string]int{}},
		{name: "from after to", ledger: l, from: t0, to: t0, code: fault.CodeInvalidRequest},
		{name: "no records kept", ledger: usage.Ledger{}, from: t0, to: t0.Add(time.Minute), code: "NOT_CONFIGURED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.ledger.Summarize(ctx, "acme", tc.from, tc.to)
			if tc.code != "" {
				assert.Equal(t, tc.code, code(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.total, s.Total)
			assert.Equal(t, tc.actions, s.Actions)
		})
	}
	usage.Ledger{}.Record(ctx, "acme", "match", "tx", "z", t0, 200) // keeps none, does not fail
}
