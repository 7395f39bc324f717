package enroll_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
)

type published struct {
	mu    sync.Mutex
	types []string
}

func (p *published) Publish(_ context.Context, ev events.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.types = append(p.types, ev.Type)
	return nil
}

func errCode(err error) string {
	var be *fault.Error
	if errors.As(err, &be) {
		return be.Code
	}
	return ""
}

// useCases returns the enrolment use cases on an embedded store in a
// temporary folder (bio may be nil for gallery management).
func useCases(t *testing.T, bio *biometric.Service) (*enroll.UseCases, *published) {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	keys, err := envelope.NewLocalKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	es := &enroll.Service{Bio: bio, Classes: st, Blobs: st,
		Sealer: enroll.EnvelopeSealer{Sealer: envelope.NewSealer(keys, envelope.Options{})}}
	g := enroll.NewGalleries(es, 1<<20)
	es.OnChange = g.Changed
	signer, err := signing.LoadOrCreateLocal(filepath.Join(t.TempDir(), "key.pem"))
	require.NoError(t, err)
	pub := &published{}
	return &enroll.UseCases{Service: es, Classes: st, Galleries: g, Bio: bio, Signer: signer, Events: pub}, pub
}

func TestGalleryManagement(t *testing.T) {
	u, _ := useCases(t, nil)
	ctx := context.Background()
	g, err := u.CreateGallery(ctx, "acme", "staff", "the staff")
	require.NoError(t, err)
	assert.Equal(t, "staff", g.Name)
	assert.Equal(t, 0, g.Members)

	tests := []struct {
		name string
		err  error
		code string
	}{
		{name: "taken name", err: func() error { _, err := u.CreateGallery(ctx, "acme", "staff", ""); return err }(), code: fault.CodeGalleryExists},
		{name: "bad name", err: func() error { _, err := u.CreateGallery(ctx, "acme", "a/b", ""); return err }(), code: fault.CodeInvalidRequest},
		{name: "long description", err: func() error {
			_, err := u.CreateGallery(ctx, "acme", "x", string(make([]byte, 1025)))
			return err
		}(), code: fault.CodeInvalidRequest},
		{name: "no ids", err: func() error { _, err := u.ChangeMembers(ctx, "acme", "staff", nil, true); return err }(), code: fault.CodeInvalidRequest},
		{name: "zero id", err: func() error { _, err := u.ChangeMembers(ctx, "acme", "staff", []uint64{1, 0}, true); return err }(), code: fault.CodeInvalidRequest},
		{name: "missing gallery", err: func() error { _, err := u.ChangeMembers(ctx, "acme", "none", []uint64{1}, true); return err }(), code: "NOT_FOUND"},
		{name: "another tenant's", err: u.CheckGallery(ctx, "other", "staff"), code: "NOT_FOUND"},
		{name: "existing", err: u.CheckGallery(ctx, "acme", "staff")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.code, errCode(tc.err))
			assert.Equal(t, tc.code == "", tc.err == nil)
		})
	}

	g, err = u.ChangeMembers(ctx, "acme", "staff", []uint64{3, 1, 2}, true)
	require.NoError(t, err)
	assert.Equal(t, 3, g.Members)
	page, err := u.Members(ctx, "acme", "staff", 0, 2)
	require.NoError(t, err)
	assert.Equal(t, []uint64{1, 2}, page.ClassIDs)
	assert.Equal(t, "2", page.Next)
	page, err = u.Members(ctx, "acme", "staff", 2, 2)
	require.NoError(t, err)
	assert.Equal(t, []uint64{3}, page.ClassIDs)
	assert.Empty(t, page.Next)
	g, err = u.ChangeMembers(ctx, "acme", "staff", []uint64{2}, false)
	require.NoError(t, err)
	assert.Equal(t, 2, g.Members)

	list, err := u.ListGalleries(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NoError(t, u.DeleteGallery(ctx, "acme", "staff"))
	assert.Equal(t, "NOT_FOUND", errCode(u.DeleteGallery(ctx, "acme", "staff")))
	list, err = u.ListGalleries(ctx, "acme")
	require.NoError(t, err)
	assert.Empty(t, list)
	page, err = u.Members(ctx, "acme", "staff", 0, 10)
	assert.Equal(t, "NOT_FOUND", errCode(err))
}

// TestIdentifyAndVerifyAreSignedAndPublished enrols, identifies and
// verifies: the decisions are bound to the probe image and the gallery or
// class, and every use case publishes its event.
func TestIdentifyAndVerifyAreSignedAndPublished(t *testing.T) {
	u, pub := useCases(t, service(t))
	ctx := context.Background()
	res, err := u.Enroll(ctx, "acme", "req-1", 7, [][]byte{fixture(t, "obama.jpg")})
	require.NoError(t, err)
	assert.NotEqual(t, enroll.ActionFailed, res.PerformedAction)
	_, err = u.CreateGallery(ctx, "acme", "staff", "")
	require.NoError(t, err)
	_, err = u.ChangeMembers(ctx, "acme", "staff", []uint64{7}, true)
	require.NoError(t, err)

	probe := fixture(t, "obama2.jpg")
	id, err := u.Identify(ctx, "acme", "staff", enroll.Probe{Image: probe, K: 5, CutOffFAR: 1e-4, RequestID: "req-2"})
	require.NoError(t, err)
	require.Len(t, id.Candidates, 1)
	assert.Equal(t, uint64(7), id.Candidates[0].ClassID)
	assert.Equal(t, "req-2", id.RefID)
	require.NotNil(t, id.Claims)
	assert.Equal(t, "req-2", id.RequestID)
	require.Len(t, id.Subjects, 2)
	assert.Equal(t, signing.Digest(probe), id.Subjects[0].ImageSHA256)
	assert.Equal(t, signing.Subject{Role: "gallery", ID: "staff"}, id.Subjects[1])
	_, err = signing.Verify(id.Signature, signing.JWKSOf(u.Signer))
	assert.NoError(t, err)

	v, err := u.Verify(ctx, "acme", "req-3", 7, probe, calibration.High)
	require.NoError(t, err)
	assert.True(t, v.Verified)
	require.NotNil(t, v.Claims)
	assert.Equal(t, []signing.Subject{{Role: "probe", ImageSHA256: signing.Digest(probe)}, {Role: "reference", ID: "7"}}, v.Subjects)

	require.NoError(t, u.Delete(ctx, "acme", "req-4", 7))
	assert.Equal(t, []string{events.EnrollmentCompleted, events.IdentificationCompleted, events.VerificationCompleted,
		events.TemplateDeleted}, pub.types)
}
