package storetest

import (
	"fmt"
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
