package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store"
)

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
