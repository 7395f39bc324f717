package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store"
)

// Classes runs the conformance suite of store.Classes. newStore returns an
// empty store for one subtest (clean it up with t.Cleanup); the subtests
// run in parallel, each with its own store.
func Classes(t *testing.T, newStore func(t *testing.T) store.Classes) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Classes)
	}{
		{"PutGetClass", testPutGetClass},
		{"ClassVersions", testClassVersions},
		{"ClassInvalid", testClassInvalid},
		{"LargeClass", testLargeClass},
		{"ClassTenantIsolation", testClassTenantIsolation},
		{"ConcurrentClassUpdates", testConcurrentClassUpdates},
		{"DeleteClass", testDeleteClass},
		{"DeleteClassNotEnrolled", testDeleteClassNotEnrolled},
		{"Galleries", testGalleries},
		{"GalleryInvalid", testGalleryInvalid},
		{"DeleteGallery", testDeleteGallery},
		{"AddRemoveMembers", testAddRemoveMembers},
		{"MembersPaging", testMembersPaging},
		{"GalleriesOf", testGalleriesOf},
		{"ConcurrentMembers", testConcurrentMembers},
		{"ConcurrentCreateGallery", testConcurrentCreateGallery},
		{"ConcurrentAddMembersAndDeleteGallery", testConcurrentAddMembersAndDeleteGallery},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// MembersConcurrency is the number of goroutines changing the members of
// one gallery at once in the concurrency tests.
const MembersConcurrency = 10

// newClass returns a class of tenant with every field set, not stored yet.
func newClass(tenant string, id uint64) store.Class {
	return store.Class{
		Tenant:     tenant,
		ClassID:    id,
		Encoder:    "arcface-r100@1",
		Vectors:    2,
		Enrolled:   3,
		Tags:       []string{"staff", "building-b"},
		Thumbnails: []string{tenant + "/classes/1/a.jpg", tenant + "/classes/1/b.jpg"},
		Sealed:     randomBytes(4096),
		Created:    time.Now().Add(-time.Minute),
	}
}

func normClass(c store.Class) store.Class {
	c.Created, c.Updated = normTime(c.Created), normTime(c.Updated)
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	if len(c.Thumbnails) == 0 {
		c.Thumbnails = nil
	}
	if len(c.Sealed) == 0 {
		c.Sealed = nil
	}
	return c
}

func normGallery(g store.Gallery) store.Gallery {
	g.Created = normTime(g.Created)
	return g
}

// mustPutClass stores a new class (Version 0) and returns it as stored.
func mustPutClass(t *testing.T, s store.Classes, c store.Class) store.Class {
	t.Helper()
	out, err := s.PutClass(ctx(t), c)
	require.NoError(t, err)
	return out
}

// mustGallery creates a gallery and returns it as stored.
func mustGallery(t *testing.T, s store.Classes, tenant, name string) store.Gallery {
	t.Helper()
	require.NoError(t, s.CreateGallery(ctx(t), store.Gallery{Tenant: tenant, Name: name, Description: "gallery " + name}))
	g, err := s.GetGallery(ctx(t), tenant, name)
	require.NoError(t, err)
	return g
}

func mustGetGallery(t *testing.T, s store.Classes, tenant, name string) store.Gallery {
	t.Helper()
	g, err := s.GetGallery(ctx(t), tenant, name)
	require.NoError(t, err)
	return g
}

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

func testPutGetClass(t *testing.T, s store.Classes) {
	in := newClass(uid("tenant"), 42)
	before := time.Now()
	out, err := s.PutClass(ctx(t), in)
	require.NoError(t, err)
	assert.EqualValues(t, 1, out.Version, "first write stores Version 1")
	assert.True(t, out.Created.Equal(in.Created), "a given Created is kept")
	assert.False(t, out.Updated.Before(before.Add(-time.Second)), "a zero Updated is set to now")

	want := in
	want.Version = 1
	want.Updated = out.Updated
	assert.Equal(t, normClass(want), normClass(out))
	got, err := s.GetClass(ctx(t), in.Tenant, in.ClassID)
	require.NoError(t, err)
	assert.Equal(t, normClass(out), normClass(got))

	// A bare class: optional fields empty, Created set by the store.
	bare := store.Class{Tenant: in.Tenant, ClassID: 43}
	out, err = s.PutClass(ctx(t), bare)
	require.NoError(t, err)
	assert.False(t, out.Created.IsZero(), "PutClass sets a zero Created")
	assert.WithinDuration(t, time.Now(), out.Created, time.Minute)
	got, err = s.GetClass(ctx(t), bare.Tenant, bare.ClassID)
	require.NoError(t, err)
	assert.Equal(t, normClass(out), normClass(got))

	_, err = s.GetClass(ctx(t), in.Tenant, 44)
	requireNotFound(t, err, "GetClass of a missing class")
}

func testClassVersions(t *testing.T, s store.Classes) {
	v1 := mustPutClass(t, s, newClass(uid("tenant"), 7))

	// Update from what was read.
	upd := v1
	upd.Vectors = 3
	upd.Enrolled = 5
	upd.Sealed = randomBytes(6000)
	upd.Tags = nil
	upd.Created = time.Now().Add(time.Hour) // ignored: the stored Created is kept
	upd.Updated = time.Time{}
	v2, err := s.PutClass(ctx(t), upd)
	require.NoError(t, err)
	assert.EqualValues(t, 2, v2.Version)
	assert.True(t, v2.Created.Equal(v1.Created), "updates keep Created")
	assert.False(t, v2.Updated.Before(v1.Updated), "a zero Updated is set to now")
	assert.Empty(t, v2.Tags)
	got, err := s.GetClass(ctx(t), v1.Tenant, v1.ClassID)
	require.NoError(t, err)
	assert.Equal(t, normClass(v2), normClass(got))

	conflicts := []struct {
		name    string
		version int64
	}{
		{"stale version", 1},
		{"version 0 of a stored class", 0},
		{"version ahead", 3},
		{"negative version", -1},
	}
	for _, tc := range conflicts {
		t.Run(tc.name, func(t *testing.T) {
			c := v2
			c.Version = tc.version
			c.Encoder = "refused"
			_, err := s.PutClass(ctx(t), c)
			require.ErrorIs(t, err, store.ErrConflict)
			got, err := s.GetClass(ctx(t), v1.Tenant, v1.ClassID)
			require.NoError(t, err)
			assert.Equal(t, normClass(v2), normClass(got), "a refused put must not overwrite")
		})
	}

	// A version other than 0 for a missing class.
	missing := newClass(v1.Tenant, 8)
	missing.Version = 1
	_, err = s.PutClass(ctx(t), missing)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.GetClass(ctx(t), missing.Tenant, missing.ClassID)
	requireNotFound(t, err, "GetClass after a refused put")

	// Versions go on; a given Updated is kept.
	upd = v2
	upd.Updated = time.Date(2031, 2, 3, 4, 5, 6, 789, time.UTC)
	v3, err := s.PutClass(ctx(t), upd)
	require.NoError(t, err)
	assert.EqualValues(t, 3, v3.Version)
	assert.True(t, v3.Updated.Equal(upd.Updated), "a given Updated is kept")
	got, err = s.GetClass(ctx(t), v1.Tenant, v1.ClassID)
	require.NoError(t, err)
	assert.Equal(t, normClass(v3), normClass(got))
}

func testClassInvalid(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	tests := []struct {
		name  string
		class store.Class
	}{
		{"class id 0", newClass(tenant, 0)},
		{"empty tenant", newClass("", 1)},
		{"tenant with #", newClass("a#C#b", 1)},
		{"tenant with /", newClass("a/b", 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.PutClass(ctx(t), tc.class)
			require.Error(t, err)
			assert.NotErrorIs(t, err, store.ErrConflict)
			assert.NotErrorIs(t, err, store.ErrNotFound)
			_, err = s.GetClass(ctx(t), tc.class.Tenant, tc.class.ClassID)
			requireNotFound(t, err, "GetClass of an invalid class")
			_, err = s.DeleteClass(ctx(t), tc.class.Tenant, tc.class.ClassID)
			requireNotFound(t, err, "DeleteClass of an invalid class")
			_, err = s.GalleriesOf(ctx(t), tc.class.Tenant, tc.class.ClassID)
			requireNotFound(t, err, "GalleriesOf an invalid class")
		})
	}

	// Class id 0 cannot be a member either; nothing of the call is applied.
	g := mustGallery(t, s, tenant, "g")
	_, err := s.AddMembers(ctx(t), tenant, "g", []uint64{1, 0, 2})
	require.Error(t, err)
	assert.NotErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, normGallery(g), normGallery(mustGetGallery(t, s, tenant, "g")))
	assert.Empty(t, allMembers(t, s, tenant, "g"))
	_, err = s.RemoveMembers(ctx(t), tenant, "g", []uint64{0})
	require.Error(t, err)
	assert.NotErrorIs(t, err, store.ErrNotFound)
}

// testLargeClass stores templates of realistic and of maximal size: 10
// vectors of 512 float32 with their encoding and sealing overhead, a
// class near the 400 KB DynamoDB item limit, and one over it (refused).
func testLargeClass(t *testing.T, s store.Classes) {
	c := newClass(uid("tenant"), 1)
	c.Vectors = 10
	c.Sealed = randomBytes(100 << 10)
	for i := range 10 {
		c.Thumbnails = append(c.Thumbnails, fmt.Sprintf("%s/classes/1/thumb-%02d.jpg", c.Tenant, i))
	}
	out := mustPutClass(t, s, c)
	got, err := s.GetClass(ctx(t), c.Tenant, c.ClassID)
	require.NoError(t, err)
	assert.Equal(t, normClass(out), normClass(got))

	got.Sealed = randomBytes(380_000)
	out, err = s.PutClass(ctx(t), got)
	require.NoError(t, err, "a class of 380,000 bytes")
	got, err = s.GetClass(ctx(t), c.Tenant, c.ClassID)
	require.NoError(t, err)
	assert.Equal(t, normClass(out), normClass(got))

	tooLarge := got
	tooLarge.Sealed = randomBytes(400 << 10)
	_, err = s.PutClass(ctx(t), tooLarge)
	require.Error(t, err, "a class over 400 KB")
	assert.NotErrorIs(t, err, store.ErrConflict)
	got2, err := s.GetClass(ctx(t), c.Tenant, c.ClassID)
	require.NoError(t, err)
	assert.Equal(t, normClass(out), normClass(got2), "a refused put must not overwrite")
}

func testClassTenantIsolation(t *testing.T, s store.Classes) {
	t1, t2, other := uid("tenant"), uid("tenant"), uid("tenant")
	c1 := mustPutClass(t, s, newClass(t1, 7))
	c2 := mustPutClass(t, s, newClass(t2, 7)) // same id, another tenant
	assert.EqualValues(t, 1, c2.Version, "the same id in another tenant is another class")

	c1, err := s.PutClass(ctx(t), c1)
	require.NoError(t, err)
	got, err := s.GetClass(ctx(t), t2, 7)
	require.NoError(t, err)
	assert.Equal(t, normClass(c2), normClass(got), "untouched by the other tenant's update")

	_, err = s.GetClass(ctx(t), other, 7)
	requireNotFound(t, err, "GetClass of another tenant's class")
	foreign := c1
	foreign.Tenant = other
	_, err = s.PutClass(ctx(t), foreign)
	require.ErrorIs(t, err, store.ErrConflict, "PutClass over another tenant's class")
	_, err = s.DeleteClass(ctx(t), other, 7)
	requireNotFound(t, err, "DeleteClass of another tenant's class")

	// Galleries.
	mustGallery(t, s, t1, "vip")
	_, err = s.AddMembers(ctx(t), t1, "vip", []uint64{7})
	require.NoError(t, err)
	_, err = s.GetGallery(ctx(t), other, "vip")
	requireNotFound(t, err, "GetGallery of another tenant's gallery")
	_, err = s.AddMembers(ctx(t), other, "vip", []uint64{8})
	requireNotFound(t, err, "AddMembers to another tenant's gallery")
	_, err = s.RemoveMembers(ctx(t), other, "vip", []uint64{7})
	requireNotFound(t, err, "RemoveMembers from another tenant's gallery")
	_, _, err = s.Members(ctx(t), other, "vip", 0, 10)
	requireNotFound(t, err, "Members of another tenant's gallery")
	err = s.DeleteGallery(ctx(t), other, "vip")
	requireNotFound(t, err, "DeleteGallery of another tenant's gallery")
	list, err := s.ListGalleries(ctx(t), other)
	require.NoError(t, err)
	assert.Empty(t, list)
	assert.Empty(t, mustGalleriesOf(t, s, t2, 7), "memberships are the tenant's")

	// The same name in another tenant is another gallery.
	mustGallery(t, s, t2, "vip")
	assert.Empty(t, allMembers(t, s, t2, "vip"))
	assert.Equal(t, []uint64{7}, allMembers(t, s, t1, "vip"))

	// Erasure in one tenant leaves the other alone.
	_, err = s.DeleteClass(ctx(t), t2, 7)
	require.NoError(t, err)
	got, err = s.GetClass(ctx(t), t1, 7)
	require.NoError(t, err)
	assert.Equal(t, normClass(c1), normClass(got))
	assert.Equal(t, []string{"vip"}, mustGalleriesOf(t, s, t1, 7))
	assert.Equal(t, 1, mustGetGallery(t, s, t1, "vip").Members)
}

// appendVector is one read-modify-write of the concurrency test: it
// appends n to the class's sealed list of ints (creating the class if
// needed), retrying on ErrConflict.
func appendVector(c context.Context, s store.Classes, tenant string, id uint64, n int) (conflicts int, err error) {
	for attempt := 0; attempt < 100*Concurrency; attempt++ {
		cur, err := s.GetClass(c, tenant, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			cur = store.Class{Tenant: tenant, ClassID: id, Encoder: "test"}
		case err != nil:
			return conflicts, err
		}
		var vectors []int
		if len(cur.Sealed) > 0 {
			if err := json.Unmarshal(cur.Sealed, &vectors); err != nil {
				return conflicts, fmt.Errorf("decode sealed: %w", err)
			}
		}
		vectors = append(vectors, n)
		cur.Sealed, _ = json.Marshal(vectors)
		cur.Vectors = len(vectors)
		cur.Enrolled++
		_, err = s.PutClass(c, cur)
		if errors.Is(err, store.ErrConflict) {
			conflicts++
			continue
		}
		return conflicts, err
	}
	return conflicts, errors.New("too many conflicts")
}

// testConcurrentClassUpdates runs Concurrency read-modify-write loops on
// one class, the first of them creating it: no update is lost.
func testConcurrentClassUpdates(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	const id = 99
	c := ctx(t)
	start := make(chan struct{})
	errs := make([]error, Concurrency)
	conflicts := make([]int, Concurrency)
	var wg sync.WaitGroup
	for i := range Concurrency {
		wg.Go(func() {
			<-start
			conflicts[i], errs[i] = appendVector(c, s, tenant, id, i)
		})
	}
	close(start)
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	total := 0
	for _, n := range conflicts {
		total += n
	}
	t.Logf("%d conflicts retried", total)

	got, err := s.GetClass(c, tenant, id)
	require.NoError(t, err)
	var vectors []int
	require.NoError(t, json.Unmarshal(got.Sealed, &vectors))
	slices.Sort(vectors)
	want := make([]int, Concurrency)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, vectors, "no lost update")
	assert.EqualValues(t, Concurrency, got.Version, "one version per write")
	assert.Equal(t, Concurrency, got.Vectors)
	assert.Equal(t, Concurrency, got.Enrolled)
}

func testDeleteClass(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	mustPutClass(t, s, newClass(tenant, 11))
	kept := mustPutClass(t, s, newClass(tenant, 12))
	mustGallery(t, s, tenant, "g1")
	mustGallery(t, s, tenant, "g2")
	mustGallery(t, s, tenant, "g3")
	g1, err := s.AddMembers(ctx(t), tenant, "g1", []uint64{11, 12})
	require.NoError(t, err)
	g2, err := s.AddMembers(ctx(t), tenant, "g2", []uint64{11})
	require.NoError(t, err)
	g3, err := s.AddMembers(ctx(t), tenant, "g3", []uint64{12})
	require.NoError(t, err)
	assert.Equal(t, []string{"g1", "g2"}, mustGalleriesOf(t, s, tenant, 11))

	c11, err := s.GetClass(ctx(t), tenant, 11)
	require.NoError(t, err)
	deleted, err := s.DeleteClass(ctx(t), tenant, 11)
	require.NoError(t, err)
	assert.Equal(t, normClass(c11), normClass(deleted), "DeleteClass returns the class it removed")
	_, err = s.GetClass(ctx(t), tenant, 11)
	requireNotFound(t, err, "GetClass after DeleteClass")
	assert.Empty(t, mustGalleriesOf(t, s, tenant, 11))

	after1 := mustGetGallery(t, s, tenant, "g1")
	assert.Equal(t, 1, after1.Members)
	assert.Greater(t, after1.Version, g1.Version, "DeleteClass bumps the version of its galleries")
	assert.Equal(t, []uint64{12}, allMembers(t, s, tenant, "g1"))
	after2 := mustGetGallery(t, s, tenant, "g2")
	assert.Equal(t, 0, after2.Members)
	assert.Greater(t, after2.Version, g2.Version, "DeleteClass bumps the version of its galleries")
	assert.Empty(t, allMembers(t, s, tenant, "g2"))
	assert.Equal(t, normGallery(g3), normGallery(mustGetGallery(t, s, tenant, "g3")), "other galleries are untouched")

	_, err = s.DeleteClass(ctx(t), tenant, 11)
	requireNotFound(t, err, "DeleteClass twice")

	got, err := s.GetClass(ctx(t), tenant, 12)
	require.NoError(t, err)
	assert.Equal(t, normClass(kept), normClass(got))
	assert.Equal(t, []string{"g1", "g3"}, mustGalleriesOf(t, s, tenant, 12))

	// The id can be enrolled again, from scratch, above the deleted
	// version: a writer holding that version cannot overwrite the new
	// class.
	stale := deleted
	stale.Tags = []string{"stale"}
	_, err = s.PutClass(ctx(t), stale)
	require.ErrorIs(t, err, store.ErrConflict, "a version of the deleted class over no class")
	again, err := s.PutClass(ctx(t), newClass(tenant, 11))
	require.NoError(t, err)
	assert.Greater(t, again.Version, deleted.Version, "a class created again starts above the deleted one")
	_, err = s.PutClass(ctx(t), stale)
	require.ErrorIs(t, err, store.ErrConflict, "a version of the deleted class over the new one")
	assert.Empty(t, mustGalleriesOf(t, s, tenant, 11))
}

// testDeleteClassNotEnrolled: the memberships of an id that has no class
// are erased all the same, and ErrNotFound reported.
func testDeleteClassNotEnrolled(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	mustGallery(t, s, tenant, "g")
	g, err := s.AddMembers(ctx(t), tenant, "g", []uint64{5, 6})
	require.NoError(t, err)
	assert.Equal(t, 2, g.Members, "members need not be enrolled")

	_, err = s.DeleteClass(ctx(t), tenant, 5)
	requireNotFound(t, err, "DeleteClass of an id without a class")
	assert.Empty(t, mustGalleriesOf(t, s, tenant, 5))
	after := mustGetGallery(t, s, tenant, "g")
	assert.Equal(t, 1, after.Members)
	assert.Greater(t, after.Version, g.Version)
	assert.Equal(t, []uint64{6}, allMembers(t, s, tenant, "g"))
}

func testGalleries(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	before := time.Now()
	for _, name := range []string{"g-c", "g-a", "G-z", "g-b"} {
		require.NoError(t, s.CreateGallery(ctx(t), store.Gallery{
			Tenant: tenant, Name: name, Description: "about " + name,
			Version: 42, Members: 7, // ignored
		}))
	}
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	require.NoError(t, s.CreateGallery(ctx(t), store.Gallery{Tenant: tenant, Name: "g-d", Created: created}))

	g, err := s.GetGallery(ctx(t), tenant, "g-a")
	require.NoError(t, err)
	assert.Equal(t, tenant, g.Tenant)
	assert.Equal(t, "g-a", g.Name)
	assert.Equal(t, "about g-a", g.Description)
	assert.EqualValues(t, 1, g.Version, "a new gallery is at Version 1")
	assert.Zero(t, g.Members)
	assert.False(t, g.Created.Before(before.Add(-time.Second)), "a zero Created is set to now")
	assert.WithinDuration(t, time.Now(), g.Created, time.Minute)

	d, err := s.GetGallery(ctx(t), tenant, "g-d")
	require.NoError(t, err)
	assert.True(t, d.Created.Equal(created), "a given Created is kept")
	assert.Empty(t, d.Description)

	err = s.CreateGallery(ctx(t), store.Gallery{Tenant: tenant, Name: "g-a", Description: "second"})
	require.ErrorIs(t, err, store.ErrExists)
	assert.Equal(t, normGallery(g), normGallery(mustGetGallery(t, s, tenant, "g-a")), "a refused create must not overwrite")

	list, err := s.ListGalleries(ctx(t), tenant)
	require.NoError(t, err)
	names := make([]string, len(list))
	for i, g := range list {
		names[i] = g.Name
	}
	assert.Equal(t, []string{"G-z", "g-a", "g-b", "g-c", "g-d"}, names, "sorted by name (bytes)")
	assert.Equal(t, normGallery(g), normGallery(list[1]))

	_, err = s.GetGallery(ctx(t), tenant, "g-missing")
	requireNotFound(t, err, "GetGallery of a missing gallery")
	_, _, err = s.Members(ctx(t), tenant, "g-missing", 0, 10)
	requireNotFound(t, err, "Members of a missing gallery")
	empty, err := s.ListGalleries(ctx(t), uid("tenant"))
	require.NoError(t, err)
	assert.Empty(t, empty)
}

func testGalleryInvalid(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	for _, g := range []store.Gallery{
		{Tenant: tenant, Name: ""},
		{Tenant: tenant, Name: "a#b"},
		{Tenant: tenant, Name: "a/b"},
		{Tenant: "", Name: "g"},
	} {
		t.Run(fmt.Sprintf("%q/%q", g.Tenant, g.Name), func(t *testing.T) {
			err := s.CreateGallery(ctx(t), g)
			require.Error(t, err)
			assert.NotErrorIs(t, err, store.ErrExists)
			assert.NotErrorIs(t, err, store.ErrNotFound)
			_, err = s.GetGallery(ctx(t), g.Tenant, g.Name)
			requireNotFound(t, err, "GetGallery")
			_, err = s.AddMembers(ctx(t), g.Tenant, g.Name, []uint64{1})
			requireNotFound(t, err, "AddMembers")
			_, err = s.RemoveMembers(ctx(t), g.Tenant, g.Name, []uint64{1})
			requireNotFound(t, err, "RemoveMembers")
			_, _, err = s.Members(ctx(t), g.Tenant, g.Name, 0, 10)
			requireNotFound(t, err, "Members")
			err = s.DeleteGallery(ctx(t), g.Tenant, g.Name)
			requireNotFound(t, err, "DeleteGallery")
		})
	}
	_, err := s.ListGalleries(ctx(t), "a#b")
	requireNotFound(t, err, "ListGalleries of an invalid tenant")
}

func testDeleteGallery(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	class := mustPutClass(t, s, newClass(tenant, 5))
	mustGallery(t, s, tenant, "g-a")
	mustGallery(t, s, tenant, "g-b")
	last, err := s.AddMembers(ctx(t), tenant, "g-a", []uint64{5, 6})
	require.NoError(t, err)
	_, err = s.AddMembers(ctx(t), tenant, "g-b", []uint64{5})
	require.NoError(t, err)

	require.NoError(t, s.DeleteGallery(ctx(t), tenant, "g-a"))
	_, err = s.GetGallery(ctx(t), tenant, "g-a")
	requireNotFound(t, err, "GetGallery after DeleteGallery")
	_, _, err = s.Members(ctx(t), tenant, "g-a", 0, 10)
	requireNotFound(t, err, "Members after DeleteGallery")
	_, err = s.AddMembers(ctx(t), tenant, "g-a", []uint64{7})
	requireNotFound(t, err, "AddMembers after DeleteGallery")
	err = s.DeleteGallery(ctx(t), tenant, "g-a")
	requireNotFound(t, err, "DeleteGallery twice")
	list, err := s.ListGalleries(ctx(t), tenant)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "g-b", list[0].Name)

	// Memberships are gone, classes kept.
	assert.Equal(t, []string{"g-b"}, mustGalleriesOf(t, s, tenant, 5))
	assert.Empty(t, mustGalleriesOf(t, s, tenant, 6))
	got, err := s.GetClass(ctx(t), tenant, 5)
	require.NoError(t, err)
	assert.Equal(t, normClass(class), normClass(got))

	// A gallery created again under the name starts empty, at a version
	// above the deleted one's: a cache keyed on the version cannot take
	// one for the other.
	g := mustGallery(t, s, tenant, "g-a")
	assert.Zero(t, g.Members)
	assert.Greater(t, g.Version, last.Version, "versions of a name never repeat")
	assert.Empty(t, allMembers(t, s, tenant, "g-a"))
	assert.Equal(t, []string{"g-b"}, mustGalleriesOf(t, s, tenant, 5))
	g2, err := s.AddMembers(ctx(t), tenant, "g-a", []uint64{6})
	require.NoError(t, err)
	assert.Equal(t, 1, g2.Members)
	assert.Equal(t, g.Version+1, g2.Version)
	assert.Equal(t, []uint64{6}, allMembers(t, s, tenant, "g-a"))
	list, err = s.ListGalleries(ctx(t), tenant)
	require.NoError(t, err)
	assert.Len(t, list, 2)

	// Deleted for good, a gallery is gone from every read.
	require.NoError(t, s.DeleteGallery(ctx(t), tenant, "g-a"))
	require.NoError(t, s.DeleteGallery(ctx(t), tenant, "g-b"))
	list, err = s.ListGalleries(ctx(t), tenant)
	require.NoError(t, err)
	assert.Empty(t, list)
	assert.Empty(t, mustGalleriesOf(t, s, tenant, 5))
	_, err = s.RemoveMembers(ctx(t), tenant, "g-b", []uint64{5})
	requireNotFound(t, err, "RemoveMembers of a deleted gallery")
	err = s.CreateGallery(ctx(t), store.Gallery{Tenant: tenant, Name: "g-b"})
	require.NoError(t, err, "a deleted gallery's name is free")
	err = s.CreateGallery(ctx(t), store.Gallery{Tenant: tenant, Name: "g-b"})
	require.ErrorIs(t, err, store.ErrExists)
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

// testConcurrentMembers changes the members of one gallery from
// MembersConcurrency goroutines at once, with overlapping ids: the count
// stays equal to the members listed.
func testConcurrentMembers(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	const name = "busy"
	g0 := mustGallery(t, s, tenant, name)
	c := ctx(t)

	// run runs op from MembersConcurrency goroutines at once; errors
	// other than the allowed ones fail the test.
	run := func(op func(i int) error, allowed ...error) {
		t.Helper()
		start := make(chan struct{})
		errs := make([]error, MembersConcurrency)
		var wg sync.WaitGroup
		for i := range MembersConcurrency {
			wg.Go(func() {
				<-start
				errs[i] = op(i)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			for _, ok := range allowed {
				if errors.Is(err, ok) {
					errs[i] = nil
				}
			}
		}
		require.NoError(t, errors.Join(errs...))
	}
	check := func(want []uint64) store.Gallery {
		t.Helper()
		g := mustGetGallery(t, s, tenant, name)
		got := allMembers(t, s, tenant, name)
		assert.Equal(t, want, got)
		assert.Equal(t, len(got), g.Members, "the count matches the members")
		return g
	}

	// Goroutine i adds 10i+1 .. 10i+20: each id is added by one or two.
	run(func(i int) error {
		_, err := s.AddMembers(c, tenant, name, shuffled(seq(uint64(10*i+1), uint64(10*i+20))))
		return err
	})
	g1 := check(seq(1, 10*MembersConcurrency+10))
	assert.Greater(t, g1.Version, g0.Version)
	assert.LessOrEqual(t, g1.Version, g0.Version+int64(MembersConcurrency)*3, "at most a few bumps per call")

	// Goroutine i removes 10i+1 .. 10i+15: all but the last five go.
	run(func(i int) error {
		_, err := s.RemoveMembers(c, tenant, name, shuffled(seq(uint64(10*i+1), uint64(10*i+15))))
		return err
	})
	g2 := check(seq(10*MembersConcurrency+6, 10*MembersConcurrency+10))
	assert.Greater(t, g2.Version, g1.Version)

	// Half add new ids, half remove the same remaining ones.
	rest := seq(10*MembersConcurrency+6, 10*MembersConcurrency+10)
	run(func(i int) error {
		if i%2 == 1 {
			_, err := s.RemoveMembers(c, tenant, name, rest)
			return err
		}
		_, err := s.AddMembers(c, tenant, name, seq(uint64(1000+10*i), uint64(1000+10*i+14)))
		return err
	})
	var want []uint64
	for i := 0; i < MembersConcurrency; i += 2 {
		want = append(want, seq(uint64(1000+10*i), uint64(1000+10*i+14))...)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	check(want)
	for _, id := range []uint64{1, rest[0], want[0]} {
		in := slices.Contains(want, id)
		names := mustGalleriesOf(t, s, tenant, id)
		if in {
			assert.Equal(t, []string{name}, names, "GalleriesOf(%d)", id)
		} else {
			assert.Empty(t, names, "GalleriesOf(%d)", id)
		}
	}

	// Half erase members, half add new ids.
	erased := want[:MembersConcurrency/2]
	run(func(i int) error {
		if i%2 == 1 {
			_, err := s.DeleteClass(c, tenant, erased[i/2]) // ErrNotFound: not enrolled
			return err
		}
		_, err := s.AddMembers(c, tenant, name, seq(uint64(2000+10*i), uint64(2000+10*i+4)))
		return err
	}, store.ErrNotFound)
	want = slices.Clone(want[MembersConcurrency/2:])
	for i := 0; i < MembersConcurrency; i += 2 {
		want = append(want, seq(uint64(2000+10*i), uint64(2000+10*i+4))...)
	}
	check(want)
	for _, id := range erased {
		assert.Empty(t, mustGalleriesOf(t, s, tenant, id), "GalleriesOf(%d) after DeleteClass", id)
	}
}

// testConcurrentCreateGallery: of Concurrency creates of one name, one
// wins and the others report ErrExists.
func testConcurrentCreateGallery(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	c := ctx(t)
	start := make(chan struct{})
	errs := make([]error, Concurrency)
	var wg sync.WaitGroup
	for i := range Concurrency {
		wg.Go(func() {
			<-start
			errs[i] = s.CreateGallery(c, store.Gallery{Tenant: tenant, Name: "g", Description: fmt.Sprint(i)})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			assert.Equal(t, -1, winner, "two creates succeeded")
			winner = i
			continue
		}
		assert.ErrorIs(t, err, store.ErrExists)
	}
	require.NotEqual(t, -1, winner, "no create succeeded")
	g := mustGetGallery(t, s, tenant, "g")
	assert.Equal(t, fmt.Sprint(winner), g.Description)
	assert.EqualValues(t, 1, g.Version)
}

// testConcurrentAddMembersAndDeleteGallery races AddMembers calls against
// a DeleteGallery: every add either succeeds before the delete or fails
// with ErrNotFound, and no membership outlives the gallery.
func testConcurrentAddMembersAndDeleteGallery(t *testing.T, s store.Classes) {
	tenant := uid("tenant")
	const name = "doomed"
	mustGallery(t, s, tenant, name)
	c := ctx(t)
	var (
		start     = make(chan struct{})
		firstDone = make(chan struct{})
		once      sync.Once
		wg        sync.WaitGroup
		errs      = make([]error, MembersConcurrency)
		deleteErr error
	)
	ids := func(i int) []uint64 { return seq(uint64(100*i+1), uint64(100*i+60)) } // two transactions on DynamoDB
	for i := range MembersConcurrency {
		wg.Go(func() {
			<-start
			_, errs[i] = s.AddMembers(c, tenant, name, ids(i))
			if errs[i] == nil {
				once.Do(func() { close(firstDone) })
			}
		})
	}
	wg.Go(func() {
		<-start
		select {
		case <-firstDone:
		case <-time.After(10 * time.Second):
		}
		deleteErr = s.DeleteGallery(c, tenant, name)
	})
	close(start)
	wg.Wait()
	require.NoError(t, deleteErr)
	succeeded := 0
	for i, err := range errs {
		if err == nil {
			succeeded++
			continue
		}
		assert.ErrorIsf(t, err, store.ErrNotFound, "AddMembers %d", i)
	}
	assert.Positive(t, succeeded)
	t.Logf("%d of %d adds succeeded before the delete", succeeded, MembersConcurrency)

	_, err := s.GetGallery(c, tenant, name)
	requireNotFound(t, err, "GetGallery after DeleteGallery")
	for i := range MembersConcurrency {
		for _, id := range []uint64{ids(i)[0], ids(i)[59]} {
			assert.Empty(t, mustGalleriesOf(t, s, tenant, id), "GalleriesOf(%d) after DeleteGallery", id)
		}
	}
	mustGallery(t, s, tenant, name)
	assert.Empty(t, allMembers(t, s, tenant, name), "memberships outlived their gallery")
	assert.Zero(t, mustGetGallery(t, s, tenant, name).Members)
}
