package envelope_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/core/envelope"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	sealed, err := envelope.Seal(key, []byte("secret"), []byte("ad"))
	require.NoError(t, err)
	assert.Len(t, sealed, 12+len("secret")+16, "nonce || ciphertext || tag")
	got, err := envelope.Open(key, sealed, []byte("ad"))
	require.NoError(t, err)
	assert.Equal(t, []byte("secret"), got)

	again, err := envelope.Seal(key, []byte("secret"), []byte("ad"))
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "a fresh nonce each time")

	tests := []struct {
		name        string
		key, sealed []byte
		ad          string
	}{
		{"other additional data", key, sealed, "other"},
		{"other key", bytes.Repeat([]byte{8}, 32), sealed, "ad"},
		{"short", key, sealed[:27], "ad"},
		{"flipped bit", key, append(append([]byte(nil), sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), "ad"},
		{"AES-128 key", key[:16], sealed, "ad"},
	}
	for _, tt := range tests {
		_, err := envelope.Open(tt.key, tt.sealed, []byte(tt.ad))
		assert.Error(t, err, tt.name)
	}
	_, err = envelope.Open(key, sealed[:27], []byte("ad"))
	assert.ErrorIs(t, err, envelope.ErrShort)
}
