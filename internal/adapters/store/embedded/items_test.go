package embedded_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/adapters/store/storetest"
	"github.com/facelambda/facelambda/internal/core/store"
)

func TestItems(t *testing.T) {
	storetest.Items(t, func(t *testing.T) store.Items {
		return open(t, t.TempDir())
	})
}

// TestItemsPurgeAndRestart checks that expired items are purged by later
// writes and that items survive a restart.
func TestItemsPurgeAndRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := embedded.Open(dir)
	require.NoError(t, err)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	for i := range 5 {
		require.NoError(t, s.PutItem(ctx, store.Item{Tenant: "t", Kind: "delivery", ID: fmt.Sprint(i),
			Expires: now.Add(time.Duration(i+1) * time.Minute)}))
	}
	require.NoError(t, s.PutItem(ctx, store.Item{Tenant: "t", Kind: "webhook", ID: "w"}))
	now = now.Add(3 * time.Minute) // items 0, 1 and 2 have expired
	list, err := s.ListItems(ctx, "t", "delivery", "", "", 0)
	require.NoError(t, err)
	assert.Len(t, list, 2)
	require.NoError(t, s.PutItem(ctx, store.Item{Tenant: "t", Kind: "webhook", ID: "w2"}))
	require.NoError(t, s.Close())

	s, err = embedded.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	s.Now = func() time.Time { return now.Add(-time.Hour) } // before any expiry: only purged items are gone
	list, err = s.ListItems(ctx, "t", "delivery", "", "", 0)
	require.NoError(t, err)
	var got []string
	for _, it := range list {
		got = append(got, it.ID)
	}
	assert.Equal(t, []string{"3", "4"}, got, "expired items were purged by the later write")
	_, err = s.GetItem(ctx, "t", "webhook", "w")
	require.NoError(t, err)
}
