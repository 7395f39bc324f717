package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/session"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
)

// recorder is an events.Publisher keeping what it is given.
type recorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *recorder) Publish(_ context.Context, ev events.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
	return nil
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.evs {
		out = append(out, ev.Type)
	}
	return out
}

// now is the service clock: the store filters expired records by the real one.
var now = time.Now().UTC().Truncate(time.Second)

// newService returns a session service on an embedded store in a
// temporary folder, a fresh signing key and an event recorder (no models).
func newService(t *testing.T) (*session.Service, *embedded.Store, *recorder) {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	st.BaseURL = "http://127.0.0.1:3000"
	signer, err := signing.LoadOrCreateLocal(filepath.Join(t.TempDir(), "key.pem"))
	require.NoError(t, err)
	rec := &recorder{}
	return &session.Service{Records: st, Blobs: st, Signer: signer, Keys: signing.JWKSOf(signer), Events: rec,
		DefaultTTL: 5 * time.Minute, MaxTTL: time.Hour, UploadTTL: 15 * time.Minute, MaxImageBytes: 1 << 20,
		Now: func() time.Time { return now }}, st, rec
}

// codeOf is the code of a service error ("" for none).
func codeOf(err error) string {
	var be *fault.Error
	if errors.As(err, &be) {
		return be.Code
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

func TestCreateSession(t *testing.T) {
	tests := []struct {
		name    string
		in      session.CreateInput
		code    string
		field   string
		wantTTL int64
	}{
		{name: "default ttl", in: session.CreateInput{CorrelationID: "c1"}, wantTTL: 300},
		{name: "asked ttl", in: session.CreateInput{TTLSeconds: ptr(int64(60)), ImageStorageEnabled: true}, wantTTL: 60},
		{name: "zero ttl", in: session.CreateInput{TTLSeconds: ptr(int64(0))}, code: fault.CodeInvalidRequest},
		{name: "ttl over the maximum", in: session.CreateInput{TTLSeconds: ptr(int64(3601))}, code: fault.CodeInvalidRequest},
		{name: "http callback refused", in: session.CreateInput{CallbackURL: "http://example.com/cb"}, code: fault.CodeInvalidRequest, field: "callbackURL"},
		{name: "private callback refused", in: session.CreateInput{CallbackURL: "https://10.0.0.1/cb"}, code: fault.CodeInvalidRequest, field: "callbackURL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, _, rec := newService(t)
			s, err := svc.Create(context.Background(), "acme", tc.in)
			if tc.code != "" {
				require.Error(t, err)
				assert.Equal(t, tc.code, codeOf(err))
				var fe *fault.Error
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, tc.field, fe.Field)
				assert.Empty(t, rec.types(), "no event for a refused session")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantTTL, s.TTLSeconds)
			assert.Equal(t, now, s.Created)
			assert.Equal(t, tc.in.ImageStorageEnabled, s.ImageStorageEnabled)
			assert.Equal(t, []string{events.SessionCreated}, rec.types())
			payload, err := signing.Verify(s.Signature, svc.Keys)
			require.NoError(t, err, "the session is signed with the service's key")
			assert.Contains(t, string(payload), s.ID)

			got, err := svc.Get(context.Background(), "acme", s.ID)
			require.NoError(t, err)
			assert.Equal(t, s.ID, got.ID)
			assert.Equal(t, s.CorrelationID, got.CorrelationID)
			_, err = svc.Get(context.Background(), "other", s.ID)
			assert.Equal(t, "NOT_FOUND", codeOf(err), "another tenant's session is not found")
		})
	}
}

func TestDeleteSessionRemovesFacesAndImages(t *testing.T) {
	svc, st, rec := newService(t)
	ctx := context.Background()
	s, err := svc.Create(ctx, "acme", session.CreateInput{ImageStorageEnabled: true})
	require.NoError(t, err)
	img := []byte("\xFF\xD8\xFFfake jpeg")
	saved, err := svc.PutFace(ctx, "acme", s.ID, session.Face{Quality: 70, Created: now}, []byte{1, 2, 3}, img, true)
	require.NoError(t, err)
	got, ct, err := st.Get(ctx, session.FaceImageKey("acme", s.ID, saved.ID))
	require.NoError(t, err)
	assert.Equal(t, img, got)
	assert.Equal(t, "image/jpeg", ct)

	require.NoError(t, svc.Delete(ctx, "acme", s.ID))
	_, _, err = st.Get(ctx, session.FaceImageKey("acme", s.ID, saved.ID))
	assert.ErrorIs(t, err, store.ErrNotFound, "the session's images are gone")
	assert.Equal(t, "NOT_FOUND", codeOf(svc.Delete(ctx, "acme", s.ID)))
	assert.Equal(t, []string{events.SessionCreated, events.SessionDeleted}, rec.types())
}

func TestStoredFaces(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	keep, err := svc.Create(ctx, "acme", session.CreateInput{ImageStorageEnabled: true})
	require.NoError(t, err)
	noKeep, err := svc.Create(ctx, "acme", session.CreateInput{})
	require.NoError(t, err)
	img := []byte("\x89PNG\x0D\x0A\x1A\x0Anot really")
	tests := []struct {
		name      string
		sid       string
		keep      bool
		wantImage bool
	}{
		{name: "kept image", sid: keep.ID, keep: true, wantImage: true},
		{name: "session keeps no images", sid: noKeep.ID, keep: false, wantImage: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			saved, err := svc.PutFace(ctx, "acme", tc.sid, session.Face{Quality: 42, Created: now, Template: "dropped"}, []byte{9, 9}, img, tc.keep)
			require.NoError(t, err)
			f, err := svc.Face(ctx, "acme", tc.sid, saved.ID)
			require.NoError(t, err)
			assert.Equal(t, 42, f.Quality)
			assert.Equal(t, "CQk=", f.Template, "the template is the stored binary one")
			require.NotNil(t, f.Expires)
			_, err = signing.Verify(f.Signature, svc.Keys)
			assert.NoError(t, err)

			list, err := svc.Faces(ctx, "acme", tc.sid)
			require.NoError(t, err)
			require.Len(t, list, 1)
			assert.Equal(t, saved.ID, list[0].ID)

			b, ct, err := svc.FaceImage(ctx, "acme", tc.sid, saved.ID, false)
			require.NoError(t, err)
			if tc.wantImage {
				assert.Equal(t, img, b)
				assert.Equal(t, "image/png", ct)
			} else {
				assert.Nil(t, b, "no image: the transport answers 204")
			}

			require.NoError(t, svc.DeleteFace(ctx, "acme", tc.sid, saved.ID))
			_, err = svc.Face(ctx, "acme", tc.sid, saved.ID)
			assert.Equal(t, "NOT_FOUND", codeOf(err))
			assert.Equal(t, "NOT_FOUND", codeOf(svc.DeleteFace(ctx, "acme", tc.sid, saved.ID)))
		})
	}
	_, err = svc.PutFace(ctx, "acme", "no-such-session", session.Face{Created: now}, []byte{1}, nil, false)
	assert.Equal(t, "NOT_FOUND", codeOf(err))
	assert.Equal(t, "NOT_FOUND", codeOf(svc.DeleteFaces(ctx, "acme", "no-such-session")))
}

func TestCreateUpload(t *testing.T) {
	tests := []struct {
		contentType string
		want        string
		code        string
	}{
		{contentType: "", want: "image/jpeg"},
		{contentType: "image/png", want: "image/png"},
		{contentType: "image/webp", want: "image/webp"},
		{contentType: "application/pdf", code: "UNSUPPORTED_MEDIA_TYPE"},
	}
	for _, tc := range tests {
		t.Run(tc.contentType, func(t *testing.T) {
			svc, _, _ := newService(t)
			u, err := svc.CreateUpload(context.Background(), "acme", tc.contentType)
			if tc.code != "" {
				assert.Equal(t, tc.code, codeOf(err))
				return
			}
			require.NoError(t, err)
			assert.Regexp(t, `^uploads/acme/[0-9a-f-]+$`, u.Key)
			assert.Equal(t, "PUT", u.Method)
			assert.Equal(t, tc.want, u.Headers["Content-Type"])
			assert.Equal(t, int64(1<<20), u.MaxBytes)
			assert.Equal(t, now.Add(15*time.Minute), u.Expires)
			assert.NotEmpty(t, u.URL)
		})
	}
}
