package httpapi

import (
	"github.com/facelambda/facelambda/internal/core/signing"
)

// keySet is the JWK Set the service publishes (and verifies with).
func (d *Deps) keySet() signing.JWKS {
	signers := d.Signers
	if len(signers) == 0 && d.Signer != nil {
		signers = []*signing.Signer{d.Signer}
	}
	return signing.JWKSOf(signers...)
}
