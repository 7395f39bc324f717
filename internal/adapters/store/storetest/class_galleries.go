package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store"
)

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
