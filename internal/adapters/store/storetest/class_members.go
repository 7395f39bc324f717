package storetest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store"
)

// allMembers pages through a gallery's members, 100 at a time, checking
// the pages are ascending and next is consistent.
func allMembers(t *testing.T, s store.Classes, tenant, name string) []uint64 {
	t.Helper()
	all := []uint64{}
	var after uint64
	for page := 0; ; page++ {
		require.Less(t, page, 10_000, "too many pages")
		ids, next, err := s.Members(ctx(t), tenant, name, after, 100)
		require.NoError(t, err)
		require.LessOrEqual(t, len(ids), 100)
		for _, id := range ids {
			require.Greater(t, id, after, "ascending, after the given id")
			after = id
		}
		all = append(all, ids...)
		if next == 0 {
			return all
		}
		require.NotEmpty(t, ids, "a page before the last one is not empty")
		require.Equal(t, ids[len(ids)-1], next, "next is the last id of the page")
	}
}

func mustGalleriesOf(t *testing.T, s store.Classes, tenant string, id uint64) []string {
	t.Helper()
	names, err := s.GalleriesOf(ctx(t), tenant, id)
	require.NoError(t, err)
	if names == nil {
		names = []string{}
	}
	return names
}

// seq returns the ids from, from+1, ..., to.
func seq(from, to uint64) []uint64 {
	var ids []uint64
	for id := from; id <= to; id++ {
		ids = append(ids, id)
	}
	return ids
}

func shuffled(ids []uint64) []uint64 {
	out := slices.Clone(ids)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func testAddRemoveMembers(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	const name = "members"
	g0 := mustGallery(t, s, tenant, name)

	g, err := s.AddMembers(ctx(t), tenant, name, []uint64{3, 1, 2})
	require.NoError(t, err)
	assert.Equal(t, 3, g.Members)
	assert.EqualValues(t, 2, g.Version, "a change bumps the version")
	assert.Equal(t, name, g.Name)
	assert.Equal(t, g0.Description, g.Description)
	assert.True(t, g.Created.Equal(g0.Created))
	assert.Equal(t, normGallery(g), normGallery(mustGetGallery(t, s, tenant, name)), "AddMembers returns the new state")

	g, err = s.AddMembers(ctx(t), tenant, name, []uint64{1, 2})
	require.NoError(t, err)
	assert.Equal(t, 3, g.Members)
	assert.EqualValues(t, 2, g.Version, "adding members again changes nothing")

	g, err = s.AddMembers(ctx(t), tenant, name, []uint64{2, 4, 4})
	require.NoError(t, err)
	assert.Equal(t, 4, g.Members, "duplicates in the call count once")
	assert.EqualValues(t, 3, g.Version)

	g, err = s.AddMembers(ctx(t), tenant, name, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 3, g.Version)
	assert.Equal(t, 4, g.Members)

	assert.Equal(t, []uint64{1, 2, 3, 4}, allMembers(t, s, tenant, name))
	assert.Equal(t, []string{name}, mustGalleriesOf(t, s, tenant, 4))

	g, err = s.RemoveMembers(ctx(t), tenant, name, []uint64{1, 99, 1})
	require.NoError(t, err)
	assert.Equal(t, 3, g.Members)
	assert.EqualValues(t, 4, g.Version)
	assert.Equal(t, normGallery(g), normGallery(mustGetGallery(t, s, tenant, name)), "RemoveMembers returns the new state")
	g, err = s.RemoveMembers(ctx(t), tenant, name, []uint64{99, 1})
	require.NoError(t, err)
	assert.EqualValues(t, 4, g.Version, "removing non-members changes nothing")
	g, err = s.RemoveMembers(ctx(t), tenant, name, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 4, g.Version)
	assert.Equal(t, []uint64{2, 3, 4}, allMembers(t, s, tenant, name))
	assert.Empty(t, mustGalleriesOf(t, s, tenant, 1))

	// Extreme ids.
	g, err = s.AddMembers(ctx(t), tenant, name, []uint64{math.MaxUint64, 1 << 63})
	require.NoError(t, err)
	assert.Equal(t, 5, g.Members)
	assert.Equal(t, []uint64{2, 3, 4, 1 << 63, math.MaxUint64}, allMembers(t, s, tenant, name))
	assert.Equal(t, []string{name}, mustGalleriesOf(t, s, tenant, math.MaxUint64))

	// Removing everything.
	g, err = s.RemoveMembers(ctx(t), tenant, name, []uint64{2, 3, 4, 1 << 63, math.MaxUint64})
	require.NoError(t, err)
	assert.Zero(t, g.Members)
	assert.Empty(t, allMembers(t, s, tenant, name))

	_, err = s.AddMembers(ctx(t), tenant, "missing", []uint64{1})
	requireNotFound(t, err, "AddMembers to a missing gallery")
	_, err = s.RemoveMembers(ctx(t), tenant, "missing", []uint64{1})
	requireNotFound(t, err, "RemoveMembers from a missing gallery")
	_, err = s.AddMembers(ctx(t), tenant, "missing", nil)
	requireNotFound(t, err, "AddMembers of nothing to a missing gallery")
}

// testMembersPaging adds 250 members in calls large enough to need several
// transactions, and pages through them.
func testMembersPaging(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	const name = "big"
	mustGallery(t, s, tenant, name)

	set := map[uint64]bool{1: true, 9: true, 10: true, 99: true, 100: true, 1 << 32: true, 1 << 63: true, math.MaxUint64: true}
	for len(set) < 250 {
		if id := rand.Uint64N(1 << 40); id != 0 {
			set[id] = true
		}
	}
	ids := make([]uint64, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	ids = shuffled(ids)
	g, err := s.AddMembers(ctx(t), tenant, name, ids[:200])
	require.NoError(t, err)
	assert.Equal(t, 200, g.Members)
	g, err = s.AddMembers(ctx(t), tenant, name, ids[150:]) // 50 again, 50 new
	require.NoError(t, err)
	assert.Equal(t, 250, g.Members)
	slices.Sort(ids)

	var pages [][]uint64
	var after uint64
	for {
		page, next, err := s.Members(ctx(t), tenant, name, after, 100)
		require.NoError(t, err)
		pages = append(pages, page)
		if next == 0 {
			break
		}
		require.Less(t, len(pages), 5, "too many pages")
		assert.Equal(t, page[len(page)-1], next)
		after = next
	}
	require.Len(t, pages, 3)
	assert.Equal(t, ids[:100], pages[0])
	assert.Equal(t, ids[100:200], pages[1])
	assert.Equal(t, ids[200:], pages[2])

	// After an id that is not a member.
	page, next, err := s.Members(ctx(t), tenant, name, 11, 3)
	require.NoError(t, err)
	i, _ := slices.BinarySearch(ids, 12)
	assert.Equal(t, ids[i:i+3], page)
	assert.Equal(t, ids[i+2], next)

	// A last page that is exactly full has no next.
	page, next, err = s.Members(ctx(t), tenant, name, ids[149], 100)
	require.NoError(t, err)
	assert.Equal(t, ids[150:], page)
	assert.Zero(t, next, "nothing after the last page")

	page, next, err = s.Members(ctx(t), tenant, name, math.MaxUint64, 100)
	require.NoError(t, err)
	assert.Empty(t, page)
	assert.Zero(t, next)

	// limit <= 0: a page of 1,000.
	page, next, err = s.Members(ctx(t), tenant, name, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, ids, page)
	assert.Zero(t, next)

	assert.Equal(t, []string{name}, mustGalleriesOf(t, s, tenant, ids[0]))
	require.NoError(t, s.DeleteGallery(ctx(t), tenant, name))
	for _, id := range []uint64{ids[0], ids[100], ids[249]} {
		assert.Empty(t, mustGalleriesOf(t, s, tenant, id), "memberships of a deleted gallery")
	}
	mustGallery(t, s, tenant, name)
	assert.Empty(t, allMembers(t, s, tenant, name))
}

func testGalleriesOf(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	for _, name := range []string{"g-b", "g-a", "g-c", "g-a b"} {
		mustGallery(t, s, tenant, name)
	}
	for _, name := range []string{"g-b", "g-a", "g-a b"} {
		_, err := s.AddMembers(ctx(t), tenant, name, []uint64{7, 8})
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"g-a", "g-a b", "g-b"}, mustGalleriesOf(t, s, tenant, 7), "sorted by name")
	_, err := s.RemoveMembers(ctx(t), tenant, "g-a", []uint64{8})
	require.NoError(t, err)
	assert.Equal(t, []string{"g-a b", "g-b"}, mustGalleriesOf(t, s, tenant, 8))
	names, err := s.GalleriesOf(ctx(t), tenant, 9)
	require.NoError(t, err, "an id in no gallery")
	assert.Empty(t, names)
}
