// Package sealed keeps the templates of session faces sealed at rest, in
// whatever store.Records holds them: Records wraps an adapter and seals
// Face.Template on PutFace with an envelope.Sealer (AWS KMS in AWS, the
// local master key locally), opening it on GetFace and ListFaces. The
// envelope AAD binds each template to its tenant, session and face
// (purpose FacePurpose, subject "<session>/<face>"), so a stored template
// moved to another face, session or tenant does not open.
//
// Migration: a face record written before sealing holds the template in
// clear (it starts with "FLTP", never with the envelope's "FLSE"); it is
// read as it is. Such records expire with their sessions (at most the
// maximum session lifetime), and every new face is sealed.
package sealed

import (
	"bytes"
	"context"
	"fmt"

	"github.com/facelambda/facelambda/internal/core/envelope"
	"github.com/facelambda/facelambda/internal/core/store"
)

// FacePurpose is the envelope purpose of session face templates (the KMS
// encryption context's "purpose", which IAM policies can condition on).
const FacePurpose = "face-template"

// Records is a store.Records whose face templates are sealed at rest.
type Records struct {
	store.Records
	Sealer *envelope.Sealer
}

// New wraps records.
func New(records store.Records, sealer *envelope.Sealer) *Records {
	return &Records{Records: records, Sealer: sealer}
}

func faceAAD(tenant, session, face string) envelope.AAD {
	return envelope.AAD{Tenant: tenant, Purpose: FacePurpose, Subject: session + "/" + face}
}

// PutFace seals the template and stores the face; the face returned holds
// the template in clear.
func (r *Records) PutFace(ctx context.Context, f store.Face) (store.Face, error) {
	clear := f.Template
	if len(clear) > 0 {
		sealed, err := r.Sealer.Seal(ctx, clear, faceAAD(f.Tenant, f.SessionID, f.ID))
		if err != nil {
			return store.Face{}, fmt.Errorf("put face: seal template: %w", err)
		}
		f.Template = sealed
	}
	saved, err := r.Records.PutFace(ctx, f)
	if err != nil {
		return store.Face{}, err
	}
	saved.Template = clear
	return saved, nil
}

// open returns the face with its template opened (a clear one as it is).
func (r *Records) open(ctx context.Context, f store.Face) (store.Face, error) {
	if !bytes.HasPrefix(f.Template, []byte(envelope.Magic)) {
		return f, nil // empty, or written before sealing
	}
	plain, err := r.Sealer.Open(ctx, f.Template, faceAAD(f.Tenant, f.SessionID, f.ID))
	if err != nil {
		return store.Face{}, fmt.Errorf("face %s/%s/%s: open template: %w", f.Tenant, f.SessionID, f.ID, err)
	}
	f.Template = plain
	return f, nil
}

// GetFace returns a face with its template opened.
func (r *Records) GetFace(ctx context.Context, tenant, sessionID, faceID string) (store.Face, error) {
	f, err := r.Records.GetFace(ctx, tenant, sessionID, faceID)
	if err != nil {
		return store.Face{}, err
	}
	return r.open(ctx, f)
}

// ListFaces returns the session's faces with their templates opened.
func (r *Records) ListFaces(ctx context.Context, tenant, sessionID string) ([]store.Face, error) {
	faces, err := r.Records.ListFaces(ctx, tenant, sessionID)
	if err != nil {
		return nil, err
	}
	for i := range faces {
		if faces[i], err = r.open(ctx, faces[i]); err != nil {
			return nil, err
		}
	}
	return faces, nil
}
