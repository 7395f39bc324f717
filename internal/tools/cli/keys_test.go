package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/core/auth"
)

// TestKeysCreateOrigins: --origin (repeatable) stores the key's web origins
// for client tokens; a malformed origin is refused before the store opens.
func TestKeysCreateOrigins(t *testing.T) {
	data := t.TempDir()
	var out, errs bytes.Buffer
	err := keysCreate(context.Background(), []string{"--tenant", "acme", "--scopes", "liveness", "--data", data,
		"--origin", "https://shop.example", "--origin", "http://localhost:3000"}, &out, &errs)
	require.NoError(t, err, errs.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	plain := lines[len(lines)-1]
	st, err := embedded.Open(filepath.Join(data, "store"))
	require.NoError(t, err)
	k, err := st.GetAPIKey(context.Background(), auth.Hash(plain))
	require.NoError(t, st.Close())
	require.NoError(t, err)
	assert.Equal(t, []string{"https://shop.example", "http://localhost:3000"}, k.Origins)

	for _, bad := range []string{"shop.example", "http://shop.example", "https://shop.example/page"} {
		err := keysCreate(context.Background(), []string{"--tenant", "acme", "--data", data, "--origin", bad}, &out, &errs)
		assert.ErrorIs(t, err, auth.ErrInvalidOrigin, bad)
	}
}
