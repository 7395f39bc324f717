package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store"
)

// Items runs the conformance suite of store.Items. newStore returns a
// store for one subtest (clean it up with t.Cleanup); every subtest uses
// tenants of its own, so the stores may share their storage.
func Items(t *testing.T, newStore func(t *testing.T) store.Items) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Items)
	}{
		{"PutGet", testItemPutGet},
		{"Replace", testItemReplace},
		{"Missing", testItemMissing},
		{"TenantAndKindIsolation", testItemIsolation},
		{"IdentifiersDoNotCollide", testItemIdentifiersDoNotCollide},
		{"Invalid", testItemInvalid},
		{"Expired", testItemExpired},
		{"Delete", testItemDelete},
		{"ListRange", testItemListRange},
		{"ListLimit", testItemListLimit},
		{"ListSkipsExpired", testItemListSkipsExpired},
		{"Large", testItemLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// requireItem checks got is want (times compared as instants).
func requireItem(t *testing.T, want, got store.Item) {
	t.Helper()
	assert.Equal(t, want.Tenant, got.Tenant)
	assert.Equal(t, want.Kind, got.Kind)
	assert.Equal(t, want.ID, got.ID)
	assert.True(t, bytes.Equal(want.Data, got.Data), "data: want %q, got %q", want.Data, got.Data)
	assert.True(t, want.Created.Equal(got.Created), "created: want %v, got %v", want.Created, got.Created)
	assert.True(t, want.Expires.Equal(got.Expires), "expires: want %v, got %v", want.Expires, got.Expires)
}

func itemIDs(items []store.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func testItemPutGet(t *testing.T, s store.Items) {
	now := time.Now()
	it := store.Item{
		Tenant: uid("tenant"), Kind: "webhook", ID: "w1",
		Data: []byte(`{"url":"https://example.com"}`), Created: now.Add(-time.Minute),
	}
	require.NoError(t, s.PutItem(ctx(t), it))
	got, err := s.GetItem(ctx(t), it.Tenant, it.Kind, it.ID)
	require.NoError(t, err)
	requireItem(t, it, got)

	exp := store.Item{Tenant: it.Tenant, Kind: "delivery", ID: "d1", Data: []byte("{}"), Expires: now.Add(time.Hour)}
	require.NoError(t, s.PutItem(ctx(t), exp))
	got, err = s.GetItem(ctx(t), exp.Tenant, exp.Kind, exp.ID)
	require.NoError(t, err)
	assert.True(t, exp.Expires.Equal(got.Expires))
	assert.WithinDuration(t, time.Now(), got.Created, time.Minute, "a zero Created is set to now")

	empty := store.Item{Tenant: it.Tenant, Kind: "webhook", ID: "empty", Created: now}
	require.NoError(t, s.PutItem(ctx(t), empty))
	got, err = s.GetItem(ctx(t), empty.Tenant, empty.Kind, empty.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Data)
}

func testItemReplace(t *testing.T, s store.Items) {
	it := store.Item{Tenant: uid("tenant"), Kind: "webhook", ID: "w1", Data: []byte("one"), Created: time.Now(),
		Expires: time.Now().Add(time.Hour)}
	require.NoError(t, s.PutItem(ctx(t), it))
	it.Data = []byte("two")
	it.Expires = time.Time{}
	require.NoError(t, s.PutItem(ctx(t), it))
	got, err := s.GetItem(ctx(t), it.Tenant, it.Kind, it.ID)
	require.NoError(t, err)
	requireItem(t, it, got)
	list, err := s.ListItems(ctx(t), it.Tenant, it.Kind, "", "", 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"w1"}, itemIDs(list))
}

func testItemMissing(t *testing.T, s store.Items) {
	tenant := uid("tenant")
	_, err := s.GetItem(ctx(t), tenant, "webhook", "nope")
	requireNotFound(t, err, "GetItem of a missing item")
	requireNotFound(t, s.DeleteItem(ctx(t), tenant, "webhook", "nope"), "DeleteItem of a missing item")
	list, err := s.ListItems(ctx(t), tenant, "webhook", "", "", 10)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func testItemIsolation(t *testing.T, s store.Items) {
	a, b := uid("tenant"), uid("tenant")
	it := store.Item{Tenant: a, Kind: "webhook", ID: "w1", Data: []byte("a"), Created: time.Now()}
	require.NoError(t, s.PutItem(ctx(t), it))

	_, err := s.GetItem(ctx(t), b, "webhook", "w1")
	requireNotFound(t, err, "GetItem of another tenant's item")
	_, err = s.GetItem(ctx(t), a, "delivery", "w1")
	requireNotFound(t, err, "GetItem of another kind")
	requireNotFound(t, s.DeleteItem(ctx(t), b, "webhook", "w1"), "DeleteItem of another tenant's item")
	list, err := s.ListItems(ctx(t), b, "webhook", "", "", 0)
	require.NoError(t, err)
	assert.Empty(t, list)
	list, err = s.ListItems(ctx(t), a, "delivery", "", "", 0)
	require.NoError(t, err)
	assert.Empty(t, list)

	got, err := s.GetItem(ctx(t), a, "webhook", "w1")
	require.NoError(t, err, "the owner's item survives the other tenant's delete")
	requireItem(t, it, got)
}

func testItemIdentifiersDoNotCollide(t *testing.T, s store.Items) {
	base := uid("t")
	// (tenant, kind) pairs whose concatenations are equal.
	pairs := [][2]string{{base + "ab", "c"}, {base + "a", "bc"}, {base, "abc"}}
	for i, p := range pairs {
		require.NoError(t, s.PutItem(ctx(t), store.Item{Tenant: p[0], Kind: p[1], ID: "x", Data: []byte{byte(i)}, Created: time.Now()}))
	}
	for i, p := range pairs {
		got, err := s.GetItem(ctx(t), p[0], p[1], "x")
		require.NoError(t, err)
		assert.Equal(t, []byte{byte(i)}, got.Data, "%v", p)
		list, err := s.ListItems(ctx(t), p[0], p[1], "", "", 0)
		require.NoError(t, err)
		assert.Len(t, list, 1, "%v", p)
	}
}

func testItemInvalid(t *testing.T, s store.Items) {
	tenant := uid("tenant")
	bad := []store.Item{
		{Tenant: "", Kind: "k", ID: "i"},
		{Tenant: tenant, Kind: "", ID: "i"},
		{Tenant: tenant, Kind: "k", ID: ""},
		{Tenant: tenant + "#x", Kind: "k", ID: "i"},
		{Tenant: tenant, Kind: "k#", ID: "i"},
		{Tenant: tenant, Kind: "k", ID: "a/b"},
		{Tenant: tenant, Kind: "k", ID: "a\nb"},
		{Tenant: tenant, Kind: "k", ID: strings.Repeat("i", 257)},
	}
	for _, it := range bad {
		err := s.PutItem(ctx(t), it)
		require.Error(t, err, "PutItem %q/%q/%q", it.Tenant, it.Kind, it.ID)
		assert.NotErrorIs(t, err, store.ErrNotFound)
		assert.NotErrorIs(t, err, store.ErrExists)
		_, err = s.GetItem(ctx(t), it.Tenant, it.Kind, it.ID)
		requireNotFound(t, err, fmt.Sprintf("GetItem %q/%q/%q", it.Tenant, it.Kind, it.ID))
		requireNotFound(t, s.DeleteItem(ctx(t), it.Tenant, it.Kind, it.ID), "DeleteItem of an invalid id")
	}
	_, err := s.ListItems(ctx(t), tenant+"#", "k", "", "", 0)
	requireNotFound(t, err, "ListItems of an invalid tenant")
}

func testItemExpired(t *testing.T, s store.Items) {
	it := store.Item{Tenant: uid("tenant"), Kind: "delivery", ID: "d1", Data: []byte("x"),
		Created: time.Now().Add(-time.Hour), Expires: time.Now().Add(-time.Second)}
	require.NoError(t, s.PutItem(ctx(t), it), "putting an already expired item")
	_, err := s.GetItem(ctx(t), it.Tenant, it.Kind, it.ID)
	requireNotFound(t, err, "GetItem of an expired item")
	requireNotFound(t, s.DeleteItem(ctx(t), it.Tenant, it.Kind, it.ID), "DeleteItem of an expired item")

	// An item living a moment disappears by itself.
	short := store.Item{Tenant: it.Tenant, Kind: "delivery", ID: "d2", Created: time.Now(),
		Expires: time.Now().Add(1500 * time.Millisecond)}
	require.NoError(t, s.PutItem(ctx(t), short))
	_, err = s.GetItem(ctx(t), short.Tenant, short.Kind, short.ID)
	require.NoError(t, err)
	time.Sleep(time.Until(short.Expires) + 10*time.Millisecond)
	_, err = s.GetItem(ctx(t), short.Tenant, short.Kind, short.ID)
	requireNotFound(t, err, "GetItem after expiry")

	// Replacing an expired item brings it back.
	short.Expires = time.Now().Add(time.Hour)
	require.NoError(t, s.PutItem(ctx(t), short))
	_, err = s.GetItem(ctx(t), short.Tenant, short.Kind, short.ID)
	require.NoError(t, err)
}

func testItemDelete(t *testing.T, s store.Items) {
	it := store.Item{Tenant: uid("tenant"), Kind: "webhook", ID: "w1", Created: time.Now(), Expires: time.Now().Add(time.Hour)}
	require.NoError(t, s.PutItem(ctx(t), it))
	require.NoError(t, s.DeleteItem(ctx(t), it.Tenant, it.Kind, it.ID))
	_, err := s.GetItem(ctx(t), it.Tenant, it.Kind, it.ID)
	requireNotFound(t, err, "GetItem after DeleteItem")
	requireNotFound(t, s.DeleteItem(ctx(t), it.Tenant, it.Kind, it.ID), "second DeleteItem")
	list, err := s.ListItems(ctx(t), it.Tenant, it.Kind, "", "", 0)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func testItemListRange(t *testing.T, s store.Items) {
	tenant := uid("tenant")
	all := []string{"a", "a.1", "a.2", "a0", "ab", "b", "b.1", "c", "é"}
	for _, id := range []string{"c", "a.2", "b", "é", "a", "ab", "b.1", "a0", "a.1"} {
		require.NoError(t, s.PutItem(ctx(t), store.Item{Tenant: tenant, Kind: "k", ID: id, Created: time.Now()}))
	}
	require.NoError(t, s.PutItem(ctx(t), store.Item{Tenant: tenant, Kind: "other", ID: "a.3", Created: time.Now()}))
	cases := []struct {
		from, to string
		want     []string
	}{
		{"", "", all},
		{"a.", "a/", []string{"a.1", "a.2"}}, // a prefix: '/' follows '.'
		{"b", "", []string{"b", "b.1", "c", "é"}},
		{"", "b", []string{"a", "a.1", "a.2", "a0", "ab"}},
		{"a0", "b.1", []string{"a0", "ab", "b"}},
		{"a.2", "a.2", []string{}},
		{"c", "a", []string{}},
		{"d", "", []string{"é"}},
		{"zz", "", []string{"é"}},
		{"é", "", []string{"é"}},
		{"f", "é", []string{}},
	}
	for _, c := range cases {
		list, err := s.ListItems(ctx(t), tenant, "k", c.from, c.to, 0)
		require.NoError(t, err, "[%q, %q)", c.from, c.to)
		assert.Equal(t, c.want, itemIDs(list), "[%q, %q)", c.from, c.to)
	}
}

func testItemListLimit(t *testing.T, s store.Items) {
	tenant := uid("tenant")
	const n = 30
	var want []string
	for i := range n {
		id := fmt.Sprintf("i%03d", i)
		want = append(want, id)
		require.NoError(t, s.PutItem(ctx(t), store.Item{Tenant: tenant, Kind: "k", ID: id, Created: time.Now()}))
	}
	list, err := s.ListItems(ctx(t), tenant, "k", "", "", 7)
	require.NoError(t, err)
	assert.Equal(t, want[:7], itemIDs(list))
	list, err = s.ListItems(ctx(t), tenant, "k", want[7], want[12], 100)
	require.NoError(t, err)
	assert.Equal(t, want[7:12], itemIDs(list))
	list, err = s.ListItems(ctx(t), tenant, "k", want[7], want[12], 5)
	require.NoError(t, err, "a limit equal to the range's size")
	assert.Equal(t, want[7:12], itemIDs(list))
	list, err = s.ListItems(ctx(t), tenant, "k", "", "", 0)
	require.NoError(t, err)
	assert.Equal(t, want, itemIDs(list), "a limit of 0 is the default (1,000)")
}

func testItemListSkipsExpired(t *testing.T, s store.Items) {
	tenant := uid("tenant")
	now := time.Now()
	var live []string
	for i := range 20 {
		it := store.Item{Tenant: tenant, Kind: "delivery", ID: fmt.Sprintf("d%02d", i), Created: now}
		switch i % 3 {
		case 0:
			it.Expires = now.Add(-time.Minute)
		case 1:
			it.Expires = now.Add(time.Hour)
			live = append(live, it.ID)
		default:
			live = append(live, it.ID)
		}
		require.NoError(t, s.PutItem(ctx(t), it))
	}
	list, err := s.ListItems(ctx(t), tenant, "delivery", "", "", 0)
	require.NoError(t, err)
	assert.Equal(t, live, itemIDs(list))
	list, err = s.ListItems(ctx(t), tenant, "delivery", "", "", 5)
	require.NoError(t, err)
	assert.Equal(t, live[:5], itemIDs(list), "the limit counts live items only")
}

func testItemLarge(t *testing.T, s store.Items) {
	tenant := uid("tenant")
	data := bytes.Repeat([]byte("x"), 300<<10)
	require.NoError(t, s.PutItem(ctx(t), store.Item{Tenant: tenant, Kind: "k", ID: "big", Data: data, Created: time.Now()}))
	got, err := s.GetItem(ctx(t), tenant, "k", "big")
	require.NoError(t, err)
	assert.Equal(t, len(data), len(got.Data))

	err = s.PutItem(ctx(t), store.Item{Tenant: tenant, Kind: "k", ID: "huge", Data: make([]byte, 400<<10), Created: time.Now()})
	require.Error(t, err, "data over the item limit")
	assert.NotErrorIs(t, err, store.ErrNotFound)
}
