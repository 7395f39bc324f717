package liveness

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/capture"
	"github.com/facelambda/facelambda/internal/core/challenge"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
)

// fixture is a Service on an embedded store with one live session "s" of
// tenant "t", a clock the test moves, and the events it published.
type fixture struct {
	svc    *Service
	st     *embedded.Store
	now    time.Time
	events []events.Event
	usage  atomic.Int32
}

func newFixture(t *testing.T, records func(store.Records) store.Records) *fixture {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	key, err := envelope.OpenLocalKey(filepath.Join(t.TempDir(), "k"))
	require.NoError(t, err)
	f := &fixture{st: st, now: time.Now().UTC()}
	require.NoError(t, st.CreateSession(t.Context(), store.Session{Tenant: "t", ID: "s", Expires: f.now.Add(time.Hour)}))
	var rs store.Records = st
	if records != nil {
		rs = records(st)
	}
	f.svc = New(Deps{Records: rs, Blobs: st, Bio: &biometric.Service{}, Passive: &Passive{},
		Active: &Active{Keys: envelope.NewSealer(key, envelope.Options{}), Challenge: challenge.DefaultConfig(), MaxAttempts: 2},
		Now:    func() time.Time { return f.now },
		Emit: func(_ context.Context, ev events.Event, err error) {
			require.NoError(t, err)
			f.events = append(f.events, ev)
		},
		Usage: func(context.Context, string, string, string, string, time.Time, error) { f.usage.Add(1) }})
	return f
}

// init starts an attempt of session s.
func (f *fixture) init(t *testing.T) *Parameters {
	t.Helper()
	p, err := f.svc.InitParameters(t.Context(), "t", "s", ParametersRequest{})
	require.NoError(t, err)
	return p
}

func assertRefusal(t *testing.T, err error, code string) {
	t.Helper()
	var le *fault.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, code, le.Code, le.Message)
}

// A result read after the parameters expired without a capture is TIMEOUT,
// stored and published once.
func TestResultTimeoutOnRead(t *testing.T) {
	f := newFixture(t, nil)
	p := f.init(t)
	res, err := f.svc.Result(t.Context(), "t", "s", "liveness_high")
	require.NoError(t, err)
	assert.Equal(t, StatusInitialized, res.LivenessStatus)
	assert.Nil(t, res.Completed)
	assert.Empty(t, f.events, "nothing to publish before the expiry")

	f.now = p.Expires.Add(time.Second)
	res, err = f.svc.Result(t.Context(), "t", "s", ModeHigh)
	require.NoError(t, err)
	assert.Equal(t, "TIMEOUT", res.LivenessStatus)
	require.NotNil(t, res.Diagnostic)
	assert.Contains(t, *res.Diagnostic, "no capture arrived")
	require.NotNil(t, res.Completed)
	require.Len(t, f.events, 1)
	assert.Equal(t, events.LivenessCompleted, f.events[0].Type)

	f.now = f.now.Add(time.Minute)
	again, err := f.svc.Result(t.Context(), "t", "s", ModeHigh)
	require.NoError(t, err)
	assert.Equal(t, res.Completed.UnixNano(), again.Completed.UnixNano(), "the stored TIMEOUT is read back")
	assert.Len(t, f.events, 1, "published once")

	_, err = f.svc.Result(t.Context(), "t", "s", ModeMedium)
	assertRefusal(t, err, fault.CodeLivenessModeMismatch)
	_, err = f.svc.Result(t.Context(), "t", "s", "LIVENESS_LOW")
	var be *fault.Error
	require.ErrorAs(t, err, &be)
	assert.Equal(t, fault.CodeInvalidRequest, be.Code)
}

// Each refusal of a capture, in the order the state reaches them.
func TestCaptureRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	_, err := f.svc.Result(ctx, "t", "s", ModeHigh)
	assert.ErrorIs(t, err, errNoParameters)
	_, err = f.svc.Capture(ctx, Submission{Tenant: "t", Session: "s", Capture: &capture.Capture{Manifest: capture.Manifest{SessionID: "s", ServerRandom: "x"}}})
	assertRefusal(t, err, fault.CodeNoLivenessParameters)

	p := f.init(t)
	sub := func(sid, sr string, at time.Time) Submission {
		return Submission{Tenant: "t", Session: "s", Raw: []byte("zip"), At: at, Source: SourceArchive,
			Capture: &capture.Capture{Manifest: capture.Manifest{SessionID: sid, ServerRandom: sr}}}
	}
	_, err = f.svc.Capture(ctx, sub("other", p.ServerRandom, time.Time{}))
	assertRefusal(t, err, fault.CodeWrongSession)
	_, err = f.svc.Capture(ctx, sub("s", "not-the-current-one", time.Time{}))
	assertRefusal(t, err, fault.CodeWrongServerRandom)

	// Past the deadline: refused, and the attempt ends as TIMEOUT.
	late := p.Issued.Add(time.Duration(p.Timeout)*time.Millisecond + directSlack + time.Second)
	_, err = f.svc.Capture(ctx, sub("s", p.ServerRandom, late))
	assertRefusal(t, err, fault.CodeLivenessExpired)
	res, err := f.svc.Result(ctx, "t", "s", ModeHigh)
	require.NoError(t, err)
	assert.Equal(t, "TIMEOUT", res.LivenessStatus)
	assert.Equal(t, SourceArchive, res.Source)
	require.Len(t, f.events, 1)

	// The serverRandom is spent: a second capture, a replay or an upload
	// slot for it is refused (the replay before any decryption).
	_, err = f.svc.Capture(ctx, sub("s", p.ServerRandom, time.Time{}))
	assertRefusal(t, err, fault.CodeReplayed)
	_, err = f.svc.SubmitReplay(ctx, Replay{Tenant: "t", Session: "s", Metadata: []byte("x"), MasterSecret: []byte("y")})
	assertRefusal(t, err, fault.CodeReplayed)
	_, err = f.svc.CreateUpload(ctx, "t", "s", time.Minute)
	assertRefusal(t, err, fault.CodeReplayed)
	_, err = f.svc.Recording(ctx, "t", "s", time.Minute)
	assertRefusal(t, err, fault.CodeNotFound)
}

// A new attempt is refused while one is analysed and once the session has
// used its attempts; an interrupted analysis no longer holds the session.
func TestInitParametersAttempts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	_, err := f.svc.InitParameters(ctx, "t", "missing", ParametersRequest{})
	assertRefusal(t, err, fault.CodeNotFound)

	p := f.init(t)
	_, err = f.svc.update(ctx, "t", "s", func(_ *store.Session, st *state) (*state, error) {
		st.Status, st.Started = StatusInProgress, f.now
		return st, nil
	})
	require.NoError(t, err)
	_, err = f.svc.InitParameters(ctx, "t", "s", ParametersRequest{})
	assertRefusal(t, err, fault.CodeLivenessInProgress)

	f.now = f.now.Add(analysisDeadline + time.Second)
	q := f.init(t)
	assert.NotEqual(t, p.ServerRandom, q.ServerRandom)
	_, err = f.svc.InitParameters(ctx, "t", "s", ParametersRequest{})
	assertRefusal(t, err, fault.CodeTooManyAttempts)
}

// conflicting answers ErrConflict to the first n compare-and-swaps.
type conflicting struct {
	store.Records
	n atomic.Int32
}

func (c *conflicting) UpdateSessionData(ctx context.Context, tenant, id string, old, data []byte) error {
	if c.n.Add(-1) >= 0 {
		return store.ErrConflict
	}
	return c.Records.UpdateSessionData(ctx, tenant, id, old, data)
}

// The state is written with compare-and-swap: a lost race is retried, and
// a session that keeps changing is answered CONFLICT.
func TestUpdateRetriesConflicts(t *testing.T) {
	for _, tc := range []struct {
		conflicts int32
		code      string
	}{{0, ""}, {5, ""}, {19, ""}, {20, fault.CodeConflict}} {
		var c *conflicting
		f := newFixture(t, func(rs store.Records) store.Records {
			c = &conflicting{Records: rs}
			return c
		})
		c.n.Store(tc.conflicts)
		_, err := f.svc.InitParameters(t.Context(), "t", "s", ParametersRequest{})
		if tc.code == "" {
			assert.NoError(t, err, "%d conflicts", tc.conflicts)
			continue
		}
		assertRefusal(t, err, tc.code)
	}
}

// An upload that is not a capture of the current attempt ends it as ERROR,
// and is deleted; a second delivery of the event does nothing.
func TestProcessUploadRefusesInvalid(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	p := f.init(t)
	key := UploadKey("t", "s", p.ServerRandom)
	require.NoError(t, f.st.Put(ctx, key, []byte("not a zip"), "application/zip"))
	require.NoError(t, f.svc.ProcessUpload(ctx, key, f.now))
	_, _, err := f.st.Get(ctx, key)
	assert.True(t, errors.Is(err, store.ErrNotFound), "the refused upload is deleted: %v", err)
	res, err := f.svc.Result(ctx, "t", "s", ModeHigh)
	require.NoError(t, err)
	assert.Equal(t, "ERROR", res.LivenessStatus)
	assert.Contains(t, *res.Diagnostic, "not a valid capture")
	assert.Equal(t, SourceUpload, res.Source)
	assert.Len(t, f.events, 1)

	require.NoError(t, f.svc.ProcessUpload(ctx, key, f.now), "a second delivery")
	require.NoError(t, f.svc.ProcessUpload(ctx, "uploads/other.zip", f.now), "not an upload key")
	assert.Len(t, f.events, 1)
	assert.Zero(t, f.usage.Load(), "nothing was analysed")

	unconfigured := New(Deps{Records: f.st, Blobs: f.st})
	assert.Error(t, unconfigured.ProcessUpload(ctx, key, f.now), "a transient failure: the event is retried")
}
