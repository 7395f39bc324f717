package signing

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decided is a decision as the services define them.
type decided struct {
	Score float64 `json:"score"`
	*Claims
	Signature string `json:"signature,omitempty"`
}

func (d *decided) SetSignature(sig string) { d.Signature = sig }
func (d *decided) Bind(c *Claims)          { d.Claims = c }

func TestSignDecision(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	subject := Subject{Role: "probe", ImageSHA256: Digest([]byte("img"))}
	tests := []struct {
		name   string
		signer *Signer
	}{
		{name: "signer", signer: newTestSigner(t, testKey())},
		{name: "no signer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &decided{Score: 0.5, Signature: "stale", Claims: &Claims{Tenant: "stale"}}
			require.NoError(t, tc.signer.SignDecision(d, "acme", "req-1", now, subject))
			if tc.signer == nil {
				assert.Nil(t, d.Claims, "nothing is bound without a signer")
				assert.Equal(t, "stale", d.Signature, "nor signed")
				return
			}
			assert.Equal(t, &Claims{Tenant: "acme", Subjects: []Subject{subject}, RequestID: "req-1", IssuedAt: now.Unix()}, d.Claims)
			payload, err := Verify(d.Signature, JWKSOf(tc.signer))
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(payload, &got))
			assert.Equal(t, "acme", got["tenant"], "the claims are signed")
			assert.NotContains(t, got, "signature", "the signature does not sign itself")
			// Signing again gives a signature over the same payload.
			first := d.Signature
			require.NoError(t, tc.signer.SignInto(d))
			again, err := Verify(d.Signature, JWKSOf(tc.signer))
			require.NoError(t, err)
			assert.Equal(t, payload, again)
			assert.Equal(t, first, d.Signature)
		})
	}
}
