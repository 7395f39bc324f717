package app_test

import (
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/facelambda/facelambda/internal/app"
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
	b, err := os.ReadFile("../../template.yaml")
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

func TestBlobStoreUsesKMSKey(t *testing.T) {
	t.Setenv("FACELAMBDA_BLOB_KMS_KEY", "arn:aws:kms:eu-west-1:123456789012:key/k")
	b := app.BlobStore(s3.New(s3.Options{Region: "eu-west-1"}), "bucket")
	assert.Equal(t, "arn:aws:kms:eu-west-1:123456789012:key/k", b.KMSKeyID)
}
