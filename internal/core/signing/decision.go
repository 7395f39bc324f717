package signing

import (
	"fmt"
	"time"
)

// Signable is a resource with a "signature" member.
type Signable interface{ SetSignature(string) }

// Decision is a signed result bound to what it is about: it carries the
// Claims set when it is signed.
type Decision interface {
	Signable
	Bind(*Claims)
}

// SignInto sets v's signature: the compact JWS of v without it. A nil
// signer leaves v unsigned.
func (s *Signer) SignInto(v Signable) error {
	if s == nil {
		return nil
	}
	v.SetSignature("")
	sig, err := s.SignResource(v)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	v.SetSignature(sig)
	return nil
}

// SignDecision binds v to tenant, the request and now, and to subjects,
// then signs it. A nil signer binds and signs nothing.
func (s *Signer) SignDecision(v Decision, tenant, requestID string, now time.Time, subjects ...Subject) error {
	if s == nil {
		v.Bind(nil)
		return nil
	}
	v.Bind(NewClaims(tenant, requestID, now, subjects...))
	return s.SignInto(v)
}
