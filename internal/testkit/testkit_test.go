package testkit_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/testkit"
)

func TestRootHoldsGoMod(t *testing.T) {
	_, err := os.Stat(filepath.Join(testkit.Root(t), "go.mod"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(testkit.Root(t), "testdata", "faces"), testkit.Testdata(t, "faces"))
	assert.NotEmpty(t, testkit.Read(t, "faces", "obama.jpg"))
}

func TestSharedSkipsWhenAbsent(t *testing.T) {
	var skipped bool
	t.Run("absent", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		testkit.Shared(t, "no-such-folder-"+t.Name())
	})
	assert.True(t, skipped)
}
