package signing_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/signing"
)

// TestClaimsInPayload: claims embedded in a resource are members of the
// signed payload, in the documented shape.
func TestClaimsInPayload(t *testing.T) {
	img := []byte("image bytes as received")
	sum := sha256.Sum256(img)
	assert.Equal(t, hex.EncodeToString(sum[:]), signing.Digest(img))

	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	res := struct {
		Decision string `json:"decision"`
		*signing.Claims
	}{"match", signing.NewClaims("acme", "req-1", at, signing.Subject{Role: "reference", ImageSHA256: signing.Digest(img)})}
	payload, err := signing.Canonical(res)
	require.NoError(t, err)
	assert.JSONEq(t, `{"decision":"match","tenant":"acme","requestId":"req-1","iat":1796288400,
		"subjects":[{"role":"reference","imageSha256":"`+signing.Digest(img)+`"}]}`, string(payload))

	none, err := signing.Canonical(struct {
		*signing.Claims
	}{signing.NewClaims("acme", "req-2", at)})
	require.NoError(t, err)
	assert.Contains(t, string(none), `"subjects":[]`, "no subjects is an empty list, never null")
}
