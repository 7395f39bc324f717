package storetest

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/store"
)

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
