package session_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/biometric/biometrictest"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/session"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/testkit"
)

// models returns the biometric service on the real engine, or skips.
func models(t *testing.T) *biometric.Service { return biometrictest.Real(t) }

func face(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testkit.Testdata(t, "faces", name))
	require.NoError(t, err)
	return b
}

// TestSessionMatchesBindSubjects adds faces to a session and matches them:
// each match is signed, bound to the tenant, the request and both faces
// (ids, image and template digests), best first, and published.
func TestSessionMatchesBindSubjects(t *testing.T) {
	svc, _, rec := newService(t)
	svc.Bio = models(t)
	ctx := context.Background()
	s, err := svc.Create(ctx, "acme", session.CreateInput{CorrelationID: "corr"})
	require.NoError(t, err)
	sess, err := svc.Open(ctx, "acme", s.ID)
	require.NoError(t, err)
	var ids []string
	for _, name := range []string{"obama.jpg", "obama2.jpg", "biden.jpg"} {
		f, err := svc.AddFace(ctx, sess, session.FaceInput{Image: face(t, name), RequestID: "req-" + name})
		require.NoError(t, err)
		assert.Equal(t, "corr", *f.CorrelationID, "a face takes the session's correlation id")
		assert.Equal(t, signing.Digest(face(t, name)), f.Digest)
		ids = append(ids, f.ID)
	}
	ms, err := svc.Matches(ctx, "acme", s.ID, ids[0], calibration.High, "req-match")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, ids[1], ms[0].Candidate.ID, "the same person comes first")
	assert.Greater(t, ms[0].Score, ms[1].Score)
	for _, m := range ms {
		require.NotNil(t, m.Claims)
		assert.Equal(t, "acme", m.Tenant)
		assert.Equal(t, "req-match", m.RequestID)
		assert.Equal(t, "req-match", m.RefID)
		require.Len(t, m.Subjects, 2)
		assert.Equal(t, signing.Subject{Role: "reference", ID: ids[0], ImageSHA256: signing.Digest(face(t, "obama.jpg")),
			TemplateSHA256: m.Subjects[0].TemplateSHA256}, m.Subjects[0])
		assert.Equal(t, m.Candidate.ID, m.Subjects[1].ID)
		assert.NotEmpty(t, m.Subjects[1].TemplateSHA256)
		_, err := signing.Verify(m.Signature, svc.Keys)
		assert.NoError(t, err)
	}
	assert.Equal(t, []string{events.SessionCreated, events.FaceCreated, events.FaceCreated, events.FaceCreated,
		events.MatchCompleted, events.MatchCompleted}, rec.types())

	_, err = svc.Matches(ctx, "acme", s.ID, "no-such-face", "", "r")
	assert.Equal(t, "NOT_FOUND", codeOf(err))
}

// TestMatchTemplateChecksReference matches a face JSON made by the service
// against an image, and refuses one whose signature is of another face.
func TestMatchTemplateChecksReference(t *testing.T) {
	svc, _, _ := newService(t)
	svc.Bio = models(t)
	ctx := context.Background()
	f, err := svc.CreateFace(ctx, "acme", session.FaceInput{Image: face(t, "obama.jpg"), RequestID: "r1"})
	require.NoError(t, err)
	assert.Equal(t, "r1", f.RefID)
	ref := &session.Reference{Template: f.Template, ImageType: string(f.ImageType), Quality: f.Quality, Signature: f.Signature}
	checked, err := svc.CheckReference(ref)
	require.NoError(t, err)
	m, err := svc.MatchTemplate(ctx, "acme", checked, face(t, "obama2.jpg"), session.MatchParams{CandidateType: biometric.Selfie, RequestID: "r2"})
	require.NoError(t, err)
	assert.NotEqual(t, f.ID, m.Reference.ID, "a client's reference gets a fresh id")
	require.Len(t, m.Subjects, 2)
	assert.Equal(t, signing.Subject{Role: "reference", TemplateSHA256: m.Subjects[0].TemplateSHA256}, m.Subjects[0])
	assert.Equal(t, signing.Digest(face(t, "obama2.jpg")), m.Subjects[1].ImageSHA256)

	ref.Quality++
	_, err = svc.CheckReference(ref)
	assert.Equal(t, fault.CodeInvalidSignature, codeOf(err))
	_, err = svc.CheckReference(&session.Reference{ImageType: "SELFIE"})
	assert.Equal(t, fault.CodeInvalidRequest, codeOf(err), "a reference without a template")
}
