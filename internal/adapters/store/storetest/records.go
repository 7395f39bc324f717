// Package storetest is the conformance suite of the store ports: every
// adapter's tests call Records and Blobs with a constructor of a fresh,
// empty store, so that all adapters keep the semantics documented in
// package store.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
			Origins: []string{"https://shop.example", "http://localhost:3000"},
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
