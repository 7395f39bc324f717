package storetest

import (
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store"
)

func testPutFaceMissingSession(t *testing.T, s store.Records) {
	sess := newSession(uid("tenant"), time.Hour)
	_, err := s.PutFace(ctx(t), newFace(sess, time.Now()))
	requireNotFound(t, err, "PutFace into a missing session")

	// Another session of the tenant does not help.
	live := mustCreate(t, s)
	f := newFace(live, time.Now())
	f.SessionID = uid("sess")
	_, err = s.PutFace(ctx(t), f)
	requireNotFound(t, err, "PutFace into a missing session of a live tenant")
}

func testPutFaceExists(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	f := mustPutFaces(t, s, sess, 1)[0]
	dup := f
	dup.Data = []byte(`{"second":true}`)
	_, err := s.PutFace(ctx(t), dup)
	require.ErrorIs(t, err, store.ErrExists)
	got, err := s.GetFace(ctx(t), f.Tenant, f.SessionID, f.ID)
	require.NoError(t, err)
	assert.Equal(t, normFace(f), normFace(got), "a refused put must not overwrite")
}

func testGetFace(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	in := newFace(sess, time.Now())
	in.Expires = time.Now().Add(100 * time.Hour) // overridden by the session's
	out, err := s.PutFace(ctx(t), in)
	require.NoError(t, err)
	assert.True(t, out.Expires.Equal(sess.Expires), "PutFace sets Expires to the session's")

	want := in
	want.Expires = sess.Expires
	assert.Equal(t, normFace(want), normFace(out))
	got, err := s.GetFace(ctx(t), sess.Tenant, sess.ID, in.ID)
	require.NoError(t, err)
	assert.Equal(t, normFace(want), normFace(got))

	// Zero Created is set by the store; empty payloads are allowed.
	bare := store.Face{Tenant: sess.Tenant, SessionID: sess.ID, ID: uid("face")}
	out, err = s.PutFace(ctx(t), bare)
	require.NoError(t, err)
	assert.False(t, out.Created.IsZero(), "PutFace sets a zero Created")
	got, err = s.GetFace(ctx(t), sess.Tenant, sess.ID, bare.ID)
	require.NoError(t, err)
	assert.Equal(t, normFace(out), normFace(got))

	_, err = s.GetFace(ctx(t), sess.Tenant, sess.ID, uid("face"))
	requireNotFound(t, err, "GetFace of a missing face")
	_, err = s.GetFace(ctx(t), sess.Tenant, uid("sess"), in.ID)
	requireNotFound(t, err, "GetFace under another session id")
}

func testListFacesOldestFirst(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	empty, err := s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Empty(t, empty)

	// Ids in reverse order of creation, created out of insertion order, so
	// neither id nor insertion order gives the expected order.
	base := time.Now().Add(-time.Minute)
	created := []time.Duration{3, 1, 4, 0, 2}
	ids := []string{"face-e", "face-d", "face-c", "face-b", "face-a"}
	want := make([]store.Face, len(ids))
	for i, id := range ids {
		f := newFace(sess, base.Add(created[i]*time.Second))
		f.ID = id
		out, err := s.PutFace(ctx(t), f)
		require.NoError(t, err)
		want[i] = out
	}
	sort.SliceStable(want, func(i, j int) bool { return want[i].Created.Before(want[j].Created) })

	got, err := s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	require.Equal(t, faceIDs(want), faceIDs(got))
	for i := range want {
		assert.Equal(t, normFace(want[i]), normFace(got[i]))
	}
}

func testDeleteFace(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	faces := mustPutFaces(t, s, sess, 3)

	require.NoError(t, s.DeleteFace(ctx(t), sess.Tenant, sess.ID, faces[1].ID))
	_, err := s.GetFace(ctx(t), sess.Tenant, sess.ID, faces[1].ID)
	requireNotFound(t, err, "GetFace of a deleted face")
	err = s.DeleteFace(ctx(t), sess.Tenant, sess.ID, faces[1].ID)
	requireNotFound(t, err, "DeleteFace twice")
	err = s.DeleteFace(ctx(t), sess.Tenant, uid("sess"), faces[0].ID)
	requireNotFound(t, err, "DeleteFace under another session id")

	got, err := s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{faces[0].ID, faces[2].ID}, faceIDs(got))
}

func testDeleteFaces(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	mustPutFaces(t, s, sess, 3)
	// A neighbour session keeps its faces.
	neighbour := newSession(sess.Tenant, time.Hour)
	require.NoError(t, s.CreateSession(ctx(t), neighbour))
	kept := mustPutFaces(t, s, neighbour, 2)

	n, err := s.DeleteFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	got, err := s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = s.GetSession(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err, "DeleteFaces keeps the session")

	n, err = s.DeleteFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Zero(t, n)

	got, err = s.ListFaces(ctx(t), neighbour.Tenant, neighbour.ID)
	require.NoError(t, err)
	assert.Equal(t, faceIDs(kept), faceIDs(got))

	_, err = s.DeleteFaces(ctx(t), sess.Tenant, uid("sess"))
	requireNotFound(t, err, "DeleteFaces of a missing session")

	// Faces can be added again afterwards.
	mustPutFaces(t, s, sess, 1)
	got, err = s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Len(t, got, 1)
}

// testConcurrentPutFaceAndDeleteSession races Concurrency PutFace calls
// against a DeleteSession: every put either succeeds before the delete (and
// its face is gone afterwards) or fails with ErrNotFound.
func testConcurrentPutFaceAndDeleteSession(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	c := ctx(t)

	var (
		start     = make(chan struct{})
		firstDone = make(chan struct{})
		once      sync.Once
		wg        sync.WaitGroup
		errs      = make([]error, Concurrency)
		faces     = make([]store.Face, Concurrency)
		deleteErr error
	)
	for i := range Concurrency {
		faces[i] = newFace(sess, time.Now())
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.PutFace(c, faces[i])
			if errs[i] == nil {
				once.Do(func() { close(firstDone) })
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		// Delete once at least one put went through, so both outcomes
		// are likely to happen.
		select {
		case <-firstDone:
		case <-time.After(10 * time.Second):
		}
		deleteErr = s.DeleteSession(c, sess.Tenant, sess.ID)
	}()
	close(start)
	wg.Wait()

	require.NoError(t, deleteErr)
	succeeded := 0
	for i, err := range errs {
		if err == nil {
			succeeded++
			continue
		}
		assert.ErrorIsf(t, err, store.ErrNotFound, "PutFace %d", i)
	}
	assert.Positive(t, succeeded, "at least one PutFace before the delete")
	t.Logf("%d of %d puts succeeded before the delete", succeeded, Concurrency)

	_, err := s.ListFaces(c, sess.Tenant, sess.ID)
	requireNotFound(t, err, "ListFaces after DeleteSession")
	for _, f := range faces {
		_, err := s.GetFace(c, f.Tenant, f.SessionID, f.ID)
		requireNotFound(t, err, "GetFace after DeleteSession")
	}
	// Nothing is left behind to resurface under a new session of that id.
	require.NoError(t, s.CreateSession(c, sess))
	got, err := s.ListFaces(c, sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Empty(t, faceIDs(got), "faces outlived their session")
	for _, f := range faces {
		_, err := s.GetFace(c, f.Tenant, f.SessionID, f.ID)
		requireNotFound(t, err, "GetFace under the recreated session")
	}
}

// testConcurrentPutFace checks that concurrent puts into one session are
// all kept.
func testConcurrentPutFace(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	c := ctx(t)
	start := make(chan struct{})
	errs := make([]error, Concurrency)
	want := make([]string, Concurrency)
	var wg sync.WaitGroup
	for i := range Concurrency {
		f := newFace(sess, time.Now())
		want[i] = f.ID
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.PutFace(c, f)
		}()
	}
	close(start)
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	got, err := s.ListFaces(c, sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, want, faceIDs(got), "no lost writes")
	for i := 1; i < len(got); i++ {
		assert.False(t, got[i].Created.Before(got[i-1].Created), "oldest first")
	}
}
