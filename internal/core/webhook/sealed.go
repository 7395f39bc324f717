package webhook

import (
	"time"
)

type sealedBox struct {
	// Key is the wrapped data key.
	Key []byte `json:"key"`
	// Box is nonce || ciphertext || tag.
	Box []byte `json:"box"`
}

// sealedSecrets is the plaintext of record.Sealed.
type sealedSecrets struct {
	// Secrets are newest first; Expires is zero for the current one.
	Secrets         []secretEntry `json:"secrets"`
	AuthHeaderValue string        `json:"authHeaderValue,omitempty"`
}

type secretEntry struct {
	Secret  string    `json:"secret"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

// active returns the secrets that sign at now, newest first.
func (s sealedSecrets) active(now time.Time) []string {
	var out []string
	for _, e := range s.Secrets {
		if e.Expires.IsZero() || now.Before(e.Expires) {
			out = append(out, e.Secret)
		}
	}
	return out
}

// rotate makes secret the current one: the previous current secret signs
// for SecretOverlap more; older ones keep their expiry.
func (s *sealedSecrets) rotate(secret string, now time.Time) {
	kept := []secretEntry{{Secret: secret, Created: now}}
	for _, e := range s.Secrets {
		if e.Expires.IsZero() {
			e.Expires = now.Add(SecretOverlap)
		}
		if now.Before(e.Expires) && len(kept) < maxSecrets {
			kept = append(kept, e)
		}
	}
	s.Secrets = kept
}
