package httpapi

import (
	"github.com/facelambda/facelambda/internal/core/session"
	"github.com/facelambda/facelambda/internal/core/signing"
)

// CodeInvalidSignature is the error code of a face JSON whose signature
// does not verify against the service's keys, or is not the signature of
// that face (core/session checks it).
const CodeInvalidSignature = session.CodeInvalidSignature

// keySet is the JWK Set the service publishes (and verifies with).
func (d *Deps) keySet() signing.JWKS {
	signers := d.Signers
	if len(signers) == 0 && d.Signer != nil {
		signers = []*signing.Signer{d.Signer}
	}
	return signing.JWKSOf(signers...)
}
