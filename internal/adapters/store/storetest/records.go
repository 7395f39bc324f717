// Package storetest is the conformance suite of the store ports: every
// adapter's tests call Records and Blobs with a constructor of a fresh,
// empty store, so that all adapters keep the semantics documented in
// package store.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store"
)

// Records runs the conformance suite of store.Records. newStore returns an
// empty store for one subtest (clean it up with t.Cleanup).
func Records(t *testing.T, newStore func(t *testing.T) store.Records) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Records)
	}{
		{"CreateGetSession", testCreateGetSession},
		{"CreateSessionExists", testCreateSessionExists},
		{"CreateSessionInvalid", testCreateSessionInvalid},
		{"GetSessionMissing", testGetSessionMissing},
		{"TenantIsolation", testTenantIsolation},
		{"IdentifiersDoNotCollide", testIdentifiersDoNotCollide},
		{"ExpiredSession", testExpiredSession},
		{"SessionExpiresWithFaces", testSessionExpiresWithFaces},
		{"PutFaceMissingSession", testPutFaceMissingSession},
		{"PutFaceExists", testPutFaceExists},
		{"GetFace", testGetFace},
		{"ListFacesOldestFirst", testListFacesOldestFirst},
		{"DeleteFace", testDeleteFace},
		{"DeleteFaces", testDeleteFaces},
		{"DeleteSession", testDeleteSession},
		{"UpdateSessionData", testUpdateSessionData},
		{"ConcurrentUpdateSessionData", testConcurrentUpdateSessionData},
		{"ConcurrentPutFaceAndDeleteSession", testConcurrentPutFaceAndDeleteSession},
		{"ConcurrentPutFace", testConcurrentPutFace},
		{"APIKeys", testAPIKeys},
		{"Claim", testClaim},
		{"ConcurrentClaim", testConcurrentClaim},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// Concurrency is the number of goroutines of the concurrency tests.
const Concurrency = 20

// ctx returns a context for one test, bounded so a hung store fails the
// test instead of the whole run.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// uid returns a random identifier with a readable prefix.
func uid(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}

// newSession returns a session of tenant living for ttl from now.
func newSession(tenant string, ttl time.Duration) store.Session {
	now := time.Now()
	return store.Session{
		Tenant:        tenant,
		ID:            uid("sess"),
		CorrelationID: uid("corr"),
		ImageStorage:  true,
		CallbackURL:   "https://example.com/callback",
		Created:       now,
		Expires:       now.Add(ttl),
		Data:          []byte(`{"liveness":{"mode":"passive"}}`),
	}
}

// newFace returns a face of s created at created.
func newFace(s store.Session, created time.Time) store.Face {
	return store.Face{
		Tenant:    s.Tenant,
		SessionID: s.ID,
		ID:        uid("face"),
		Created:   created,
		Data:      []byte(`{"quality":0.93}`),
		Template:  []byte{0x00, 0x01, 0xfe, 0xff, 0x80, 0x7f},
		HasImage:  true,
	}
}

// mustCreate creates a session of a new tenant living for an hour.
func mustCreate(t *testing.T, s store.Records) store.Session {
	t.Helper()
	sess := newSession(uid("tenant"), time.Hour)
	require.NoError(t, s.CreateSession(ctx(t), sess))
	return sess
}

// mustPutFaces puts n faces one millisecond apart, oldest first.
func mustPutFaces(t *testing.T, s store.Records, sess store.Session, n int) []store.Face {
	t.Helper()
	base := time.Now()
	faces := make([]store.Face, n)
	for i := range faces {
		f, err := s.PutFace(ctx(t), newFace(sess, base.Add(time.Duration(i)*time.Millisecond)))
		require.NoError(t, err)
		faces[i] = f
	}
	return faces
}

// normTime drops the monotonic reading and location of t.
func normTime(t time.Time) time.Time { return t.Round(0).UTC() }

func normSession(s store.Session) store.Session {
	s.Created, s.Expires = normTime(s.Created), normTime(s.Expires)
	if len(s.Data) == 0 {
		s.Data = nil
	}
	return s
}

func normFace(f store.Face) store.Face {
	f.Created, f.Expires = normTime(f.Created), normTime(f.Expires)
	if len(f.Data) == 0 {
		f.Data = nil
	}
	if len(f.Template) == 0 {
		f.Template = nil
	}
	return f
}

func faceIDs(faces []store.Face) []string {
	ids := make([]string, len(faces))
	for i, f := range faces {
		ids[i] = f.ID
	}
	return ids
}

// requireNotFound checks err is store.ErrNotFound.
func requireNotFound(t *testing.T, err error, what string) {
	t.Helper()
	require.Errorf(t, err, "%s: want ErrNotFound, got nil", what)
	require.ErrorIsf(t, err, store.ErrNotFound, "%s", what)
}

func testCreateGetSession(t *testing.T, s store.Records) {
	want := newSession(uid("tenant"), time.Hour)
	require.NoError(t, s.CreateSession(ctx(t), want))

	got, err := s.GetSession(ctx(t), want.Tenant, want.ID)
	require.NoError(t, err)
	assert.Equal(t, normSession(want), normSession(got))

	// The same id in another tenant is another session.
	other := want
	other.Tenant = uid("tenant")
	other.Data = []byte(`{"other":true}`)
	require.NoError(t, s.CreateSession(ctx(t), other))
	got, err = s.GetSession(ctx(t), want.Tenant, want.ID)
	require.NoError(t, err)
	assert.Equal(t, normSession(want), normSession(got))
	got, err = s.GetSession(ctx(t), other.Tenant, other.ID)
	require.NoError(t, err)
	assert.Equal(t, normSession(other), normSession(got))

	// Optional fields may be empty.
	bare := store.Session{Tenant: want.Tenant, ID: uid("sess"), Created: time.Now(), Expires: time.Now().Add(time.Hour)}
	require.NoError(t, s.CreateSession(ctx(t), bare))
	got, err = s.GetSession(ctx(t), bare.Tenant, bare.ID)
	require.NoError(t, err)
	assert.Equal(t, normSession(bare), normSession(got))
}

func testCreateSessionExists(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	dup := sess
	dup.Data = []byte(`{"second":true}`)
	err := s.CreateSession(ctx(t), dup)
	require.ErrorIs(t, err, store.ErrExists)

	got, err := s.GetSession(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, normSession(sess), normSession(got), "a refused create must not overwrite")
}

func testCreateSessionInvalid(t *testing.T, s store.Records) {
	valid := newSession(uid("tenant"), time.Hour)
	tests := []struct {
		name   string
		mutate func(*store.Session)
	}{
		{"empty tenant", func(s *store.Session) { s.Tenant = "" }},
		{"empty id", func(s *store.Session) { s.ID = "" }},
		{"zero expiry", func(s *store.Session) { s.Expires = time.Time{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sess := valid
			tc.mutate(&sess)
			err := s.CreateSession(ctx(t), sess)
			require.Error(t, err)
			assert.NotErrorIs(t, err, store.ErrExists)
		})
	}
}

func testGetSessionMissing(t *testing.T, s store.Records) {
	_, err := s.GetSession(ctx(t), uid("tenant"), uid("sess"))
	requireNotFound(t, err, "GetSession of a missing session")
}

func testTenantIsolation(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	face := mustPutFaces(t, s, sess, 1)[0]
	other := uid("tenant")

	_, err := s.GetSession(ctx(t), other, sess.ID)
	requireNotFound(t, err, "GetSession")
	_, err = s.ListFaces(ctx(t), other, sess.ID)
	requireNotFound(t, err, "ListFaces")
	_, err = s.GetFace(ctx(t), other, sess.ID, face.ID)
	requireNotFound(t, err, "GetFace")
	foreign := newFace(sess, time.Now())
	foreign.Tenant = other
	_, err = s.PutFace(ctx(t), foreign)
	requireNotFound(t, err, "PutFace")
	err = s.DeleteFace(ctx(t), other, sess.ID, face.ID)
	requireNotFound(t, err, "DeleteFace")
	_, err = s.DeleteFaces(ctx(t), other, sess.ID)
	requireNotFound(t, err, "DeleteFaces")
	err = s.DeleteSession(ctx(t), other, sess.ID)
	requireNotFound(t, err, "DeleteSession")

	// The owner still has everything.
	got, err := s.GetSession(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, normSession(sess), normSession(got))
	faces, err := s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{face.ID}, faceIDs(faces))
}

// testIdentifiersDoNotCollide checks that identifiers containing key
// separators cannot reach another tenant's records: an adapter either
// rejects them or keeps them apart.
func testIdentifiersDoNotCollide(t *testing.T, s store.Records) {
	pairs := []struct{ tenant1, id1, tenant2, id2 string }{
		{"a#S#b", "c", "a", "b#S#c"},
		{"a/b", "c", "a", "b/c"},
		{"a", "b:c", "a:b", "c"},
		{"a\x00b", "c", "a", "b\x00c"},
	}
	for _, p := range pairs {
		t.Run(fmt.Sprintf("%q/%q", p.tenant1, p.id1), func(t *testing.T) {
			// A common prefix keeps the concatenations equal.
			prefix := uid("t")
			s1 := newSession(prefix+p.tenant1, time.Hour)
			s1.ID = p.id1
			s2 := newSession(prefix+p.tenant2, time.Hour)
			s2.ID = p.id2
			err1 := s.CreateSession(ctx(t), s1)
			err2 := s.CreateSession(ctx(t), s2)
			assert.NotErrorIs(t, err1, store.ErrExists)
			assert.NotErrorIs(t, err2, store.ErrExists)
			if err1 == nil {
				got, err := s.GetSession(ctx(t), s1.Tenant, s1.ID)
				require.NoError(t, err)
				assert.Equal(t, normSession(s1), normSession(got))
			}
			if err2 == nil {
				got, err := s.GetSession(ctx(t), s2.Tenant, s2.ID)
				require.NoError(t, err)
				assert.Equal(t, normSession(s2), normSession(got))
			}
			if err1 != nil {
				_, err := s.GetSession(ctx(t), s1.Tenant, s1.ID)
				requireNotFound(t, err, "GetSession of a rejected identifier")
			}
		})
	}
}

func testExpiredSession(t *testing.T, s store.Records) {
	sess := newSession(uid("tenant"), -time.Minute)
	sess.Created = time.Now().Add(-time.Hour)
	require.NoError(t, s.CreateSession(ctx(t), sess), "creating an already expired session")

	_, err := s.GetSession(ctx(t), sess.Tenant, sess.ID)
	requireNotFound(t, err, "GetSession of an expired session")
	_, err = s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	requireNotFound(t, err, "ListFaces of an expired session")
	_, err = s.PutFace(ctx(t), newFace(sess, time.Now()))
	requireNotFound(t, err, "PutFace into an expired session")
	_, err = s.DeleteFaces(ctx(t), sess.Tenant, sess.ID)
	requireNotFound(t, err, "DeleteFaces of an expired session")

	// An expired session is as good as missing: its id can be taken again.
	again := sess
	again.Expires = time.Now().Add(time.Hour)
	require.NoError(t, s.CreateSession(ctx(t), again))
	got, err := s.GetSession(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, normSession(again), normSession(got))

	expired := newSession(sess.Tenant, -time.Second)
	require.NoError(t, s.CreateSession(ctx(t), expired))
	err = s.DeleteSession(ctx(t), expired.Tenant, expired.ID)
	requireNotFound(t, err, "DeleteSession of an expired session")
}

func testSessionExpiresWithFaces(t *testing.T, s store.Records) {
	const ttl = 1500 * time.Millisecond
	sess := newSession(uid("tenant"), ttl)
	require.NoError(t, s.CreateSession(ctx(t), sess))
	faces := mustPutFaces(t, s, sess, 2)
	for _, f := range faces {
		assert.True(t, f.Expires.Equal(sess.Expires), "face expires with its session")
	}
	listed, err := s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	require.Len(t, listed, 2)

	time.Sleep(time.Until(sess.Expires) + 50*time.Millisecond)

	_, err = s.GetSession(ctx(t), sess.Tenant, sess.ID)
	requireNotFound(t, err, "GetSession after expiry")
	_, err = s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	requireNotFound(t, err, "ListFaces after expiry")
	for _, f := range faces {
		_, err = s.GetFace(ctx(t), sess.Tenant, sess.ID, f.ID)
		requireNotFound(t, err, "GetFace after expiry")
	}
	_, err = s.PutFace(ctx(t), newFace(sess, time.Now()))
	requireNotFound(t, err, "PutFace after expiry")
	err = s.DeleteFace(ctx(t), sess.Tenant, sess.ID, faces[0].ID)
	requireNotFound(t, err, "DeleteFace after expiry")

	// A new session under the same id does not resurrect the old faces.
	again := sess
	again.Expires = time.Now().Add(time.Hour)
	require.NoError(t, s.CreateSession(ctx(t), again))
	listed, err = s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Empty(t, listed)
	_, err = s.GetFace(ctx(t), sess.Tenant, sess.ID, faces[1].ID)
	requireNotFound(t, err, "GetFace of the expired session's face")
	n, err := s.DeleteFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Zero(t, n, "expired faces are not counted")
}

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

func testDeleteSession(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	faces := mustPutFaces(t, s, sess, 3)
	neighbour := newSession(sess.Tenant, time.Hour)
	require.NoError(t, s.CreateSession(ctx(t), neighbour))
	kept := mustPutFaces(t, s, neighbour, 1)

	require.NoError(t, s.DeleteSession(ctx(t), sess.Tenant, sess.ID))
	_, err := s.GetSession(ctx(t), sess.Tenant, sess.ID)
	requireNotFound(t, err, "GetSession after DeleteSession")
	_, err = s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	requireNotFound(t, err, "ListFaces after DeleteSession")
	for _, f := range faces {
		_, err = s.GetFace(ctx(t), sess.Tenant, sess.ID, f.ID)
		requireNotFound(t, err, "GetFace after DeleteSession")
	}
	err = s.DeleteSession(ctx(t), sess.Tenant, sess.ID)
	requireNotFound(t, err, "DeleteSession twice")
	err = s.DeleteSession(ctx(t), sess.Tenant, uid("sess"))
	requireNotFound(t, err, "DeleteSession of a missing session")

	// The faces are gone, not merely hidden: a new session under the same
	// id starts empty.
	require.NoError(t, s.CreateSession(ctx(t), sess))
	got, err := s.ListFaces(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = s.GetFace(ctx(t), sess.Tenant, sess.ID, faces[0].ID)
	requireNotFound(t, err, "GetFace of a face of the deleted session")

	got, err = s.ListFaces(ctx(t), neighbour.Tenant, neighbour.ID)
	require.NoError(t, err)
	assert.Equal(t, faceIDs(kept), faceIDs(got))
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

func testAPIKeys(t *testing.T, s store.Records) {
	tests := []struct {
		name string
		key  store.APIKey
	}{
		{"full", store.APIKey{
			Hash:    uid("hash"),
			Tenant:  uid("tenant"),
			Name:    "ci key",
			Scopes:  []string{"sessions:write", "faces:read", "admin"},
			Created: time.Now(),
		}},
		{"no scopes", store.APIKey{Hash: uid("hash"), Tenant: uid("tenant"), Created: time.Now()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, s.PutAPIKey(ctx(t), tc.key))
			got, err := s.GetAPIKey(ctx(t), tc.key.Hash)
			require.NoError(t, err)
			want := tc.key
			want.Created = normTime(want.Created)
			got.Created = normTime(got.Created)
			if len(got.Scopes) == 0 {
				got.Scopes = nil
			}
			assert.Equal(t, want, got)
		})
	}
	_, err := s.GetAPIKey(ctx(t), uid("hash"))
	requireNotFound(t, err, "GetAPIKey of a missing key")
}

func testPing(t *testing.T, s store.Records) {
	require.NoError(t, s.Ping(ctx(t)))
}

func testUpdateSessionData(t *testing.T, s store.Records) {
	sess := mustCreate(t, s)
	require.NotEmpty(t, sess.Data)
	err := s.UpdateSessionData(ctx(t), sess.Tenant, sess.ID, nil, []byte(`{"v":1}`))
	require.ErrorIs(t, err, store.ErrConflict, "no data expected but some is there")
	require.NoError(t, s.UpdateSessionData(ctx(t), sess.Tenant, sess.ID, sess.Data, []byte(`{"v":1}`)))
	got, err := s.GetSession(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, `{"v":1}`, string(got.Data))
	assert.Equal(t, normSession(sess).Expires, normSession(got).Expires, "the expiry is kept")
	assert.Equal(t, sess.CorrelationID, got.CorrelationID)

	err = s.UpdateSessionData(ctx(t), sess.Tenant, sess.ID, []byte(`{"v":0}`), []byte(`{"v":2}`))
	require.ErrorIs(t, err, store.ErrConflict, "a stale old value")
	err = s.UpdateSessionData(ctx(t), sess.Tenant, sess.ID, nil, []byte(`{"v":2}`))
	require.ErrorIs(t, err, store.ErrConflict, "no data expected but some is there")
	require.NoError(t, s.UpdateSessionData(ctx(t), sess.Tenant, sess.ID, []byte(`{"v":1}`), []byte(`{"v":2}`)))
	got, err = s.GetSession(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, `{"v":2}`, string(got.Data))

	require.NoError(t, s.UpdateSessionData(ctx(t), sess.Tenant, sess.ID, []byte(`{"v":2}`), nil), "clearing the data")
	got, err = s.GetSession(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Data)
	require.NoError(t, s.UpdateSessionData(ctx(t), sess.Tenant, sess.ID, nil, []byte(`{"v":3}`)), "writing over no data")

	err = s.UpdateSessionData(ctx(t), uid("tenant"), sess.ID, nil, []byte("x"))
	requireNotFound(t, err, "UpdateSessionData of another tenant's session")
	err = s.UpdateSessionData(ctx(t), sess.Tenant, uid("missing"), nil, []byte("x"))
	requireNotFound(t, err, "UpdateSessionData of a missing session")
	err = s.UpdateSessionData(ctx(t), sess.Tenant, "bad#id", nil, []byte("x"))
	requireNotFound(t, err, "UpdateSessionData with an invalid id")

	expired := newSession(sess.Tenant, -time.Second)
	require.NoError(t, s.CreateSession(ctx(t), expired))
	err = s.UpdateSessionData(ctx(t), expired.Tenant, expired.ID, nil, []byte("x"))
	requireNotFound(t, err, "UpdateSessionData of an expired session")

	require.NoError(t, s.DeleteSession(ctx(t), sess.Tenant, sess.ID))
	err = s.UpdateSessionData(ctx(t), sess.Tenant, sess.ID, nil, []byte("x"))
	requireNotFound(t, err, "UpdateSessionData of a deleted session")
}

// testConcurrentUpdateSessionData has Concurrency writers increment a
// counter through compare-and-swap: no increment may be lost.
func testConcurrentUpdateSessionData(t *testing.T, s store.Records) {
	sess := newSession(uid("tenant"), time.Hour)
	sess.Data = nil
	require.NoError(t, s.CreateSession(ctx(t), sess))
	var wg sync.WaitGroup
	errs := make(chan error, Concurrency)
	for range Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				cur, err := s.GetSession(ctx(t), sess.Tenant, sess.ID)
				if err != nil {
					errs <- err
					return
				}
				n := 0
				if len(cur.Data) > 0 {
					n, _ = strconv.Atoi(string(cur.Data))
				}
				err = s.UpdateSessionData(ctx(t), sess.Tenant, sess.ID, cur.Data, []byte(strconv.Itoa(n+1)))
				if errors.Is(err, store.ErrConflict) {
					continue
				}
				errs <- err
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := s.GetSession(ctx(t), sess.Tenant, sess.ID)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(Concurrency), string(got.Data))
}

// testClaim: a name is claimed once per tenant while the claim lives.
func testClaim(t *testing.T, s store.Records) {
	t1, t2 := uid("tenant"), uid("tenant")
	name := "uploads/" + t1 + "/" + uid("up")
	exp := time.Now().Add(time.Hour)
	require.NoError(t, s.Claim(ctx(t), t1, name, exp))
	require.ErrorIs(t, s.Claim(ctx(t), t1, name, exp), store.ErrExists, "claimed twice")
	require.NoError(t, s.Claim(ctx(t), t2, name, exp), "another tenant's name")
	require.NoError(t, s.Claim(ctx(t), t1, name+"x", exp), "another name")

	// An expired claim can be claimed again.
	short := "uploads/" + t1 + "/" + uid("up")
	require.NoError(t, s.Claim(ctx(t), t1, short, time.Now().Add(-time.Second)))
	require.NoError(t, s.Claim(ctx(t), t1, short, exp), "over an expired claim")
	require.ErrorIs(t, s.Claim(ctx(t), t1, short, exp), store.ErrExists)

	for _, tc := range []struct{ name, tenant, claim string }{
		{"empty name", t1, ""},
		{"dot segment", t1, "a/../b"},
		{"bad tenant", "a#b", "x"},
		{"empty tenant", "", "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Claim(ctx(t), tc.tenant, tc.claim, exp)
			require.Error(t, err)
			assert.NotErrorIs(t, err, store.ErrExists)
			assert.NotErrorIs(t, err, store.ErrNotFound)
		})
	}
	assert.Error(t, s.Claim(ctx(t), t1, "no-expiry", time.Time{}), "no expiry")
}

// testConcurrentClaim: of Concurrency simultaneous claims of one name,
// exactly one wins.
func testConcurrentClaim(t *testing.T, s store.Records) {
	tenant := uid("tenant")
	name := "uploads/" + tenant + "/" + uid("up")
	exp := time.Now().Add(time.Hour)
	errs := make([]error, Concurrency)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Claim(ctx(t), tenant, name, exp)
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, store.ErrExists)
	}
	assert.Equal(t, 1, won, "exactly one claim wins")
}
