package app_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/facelambda/facelambda/internal/adapters/store/s3blob"
	"github.com/facelambda/facelambda/internal/app"
	"github.com/facelambda/facelambda/internal/config"
	"github.com/facelambda/facelambda/internal/testkit"
)

// yamlGet returns the value of key in a mapping node (nil when absent).
func yamlGet(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// The stack keeps biometric data under its own key: the KMS keys that seal
// retained data outlive the stack, the image bucket encrypts with SSE-KMS
// under the template key, and every function is told the keys.
func TestTemplateKeepsDataUnderItsKey(t *testing.T) {
	b, err := os.ReadFile(testkit.Path(t, "template.yaml"))
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	root := doc.Content[0]
	res := yamlGet(root, "Resources")
	require.NotNil(t, res)
	keys := 0
	for i := 0; i+1 < len(res.Content); i += 2 {
		name, r := res.Content[i].Value, res.Content[i+1]
		if yamlGet(r, "Type").Value != "AWS::KMS::Key" {
			continue
		}
		keys++
		for _, policy := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
			p := yamlGet(r, policy)
			if assert.NotNil(t, p, "%s of %s", policy, name) {
				assert.Equal(t, "Retain", p.Value, "%s of %s", policy, name)
			}
		}
	}
	assert.Equal(t, 2, keys, "the template and webhook keys")

	enc := yamlGet(res, "ImageBucket", "Properties", "BucketEncryption", "ServerSideEncryptionConfiguration")
	require.NotNil(t, enc)
	require.Len(t, enc.Content, 1)
	def := yamlGet(enc.Content[0], "ServerSideEncryptionByDefault")
	assert.Equal(t, "aws:kms", yamlGet(def, "SSEAlgorithm").Value)
	assert.Equal(t, "TemplateKey.Arn", yamlGet(def, "KMSMasterKeyID").Value)

	env := yamlGet(root, "Globals", "Function", "Environment", "Variables")
	assert.Equal(t, "TemplateKey", yamlGet(env, "FACELAMBDA_TEMPLATE_KMS_KEY").Value)
	assert.Equal(t, "TemplateKey.Arn", yamlGet(env, "FACELAMBDA_BLOB_KMS_KEY").Value)
}

// TestBuildPutsObjectsUnderTheBlobKey: FACELAMBDA_BLOB_KMS_KEY reaches the
// bucket's store of a function built for AWS.
func TestBuildPutsObjectsUnderTheBlobKey(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_REGION", "eu-west-1")
	const key = "arn:aws:kms:eu-west-1:123456789012:key/k"
	cfg, err := config.LoadWith(map[string]string{"FACELAMBDA_STORE": config.StoreAWS, "FACELAMBDA_TABLE": "t", "FACELAMBDA_BUCKET": "b",
		"FACELAMBDA_BLOB_KMS_KEY": key, "FACELAMBDA_DATA_DIR": t.TempDir()})
	require.NoError(t, err)
	g, err := app.Build(t.Context(), cfg, app.Need{})
	require.NoError(t, err)
	b, ok := g.Deps.Blobs.(*s3blob.Store)
	require.True(t, ok, "%T", g.Deps.Blobs)
	assert.Equal(t, key, b.KMSKeyID)
}
