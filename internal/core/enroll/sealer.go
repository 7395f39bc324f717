package enroll

import (
	"context"

	"github.com/facelambda/facelambda/internal/core/envelope"
)

// Sealer encrypts template payloads at rest, bound to tenant and class id so
// a stored template cannot be moved to another class or tenant.
type Sealer interface {
	SealTemplate(ctx context.Context, tenant string, classID uint64, plaintext []byte) ([]byte, error)
	OpenTemplate(ctx context.Context, tenant string, classID uint64, blob []byte) ([]byte, error)
}

// EnvelopeSealer seals templates with an envelope.Sealer, binding each to
// its tenant and class id (purpose "template").
type EnvelopeSealer struct{ Sealer *envelope.Sealer }

// SealTemplate encrypts a template payload.
func (e EnvelopeSealer) SealTemplate(ctx context.Context, tenant string, classID uint64, plaintext []byte) ([]byte, error) {
	return e.Sealer.Seal(ctx, plaintext, envelope.AAD{Tenant: tenant, ClassID: classID, Purpose: "template"})
}

// OpenTemplate decrypts a template payload sealed for this tenant and class.
func (e EnvelopeSealer) OpenTemplate(ctx context.Context, tenant string, classID uint64, blob []byte) ([]byte, error) {
	return e.Sealer.Open(ctx, blob, envelope.AAD{Tenant: tenant, ClassID: classID, Purpose: "template"})
}
