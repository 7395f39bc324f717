package s3blob_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/s3blob"
	"github.com/facelambda/facelambda/internal/adapters/store/storetest"
	"github.com/facelambda/facelambda/internal/core/store"
)

// endpointEnv names the S3 endpoint the tests run against.
const endpointEnv = "FACELAMBDA_TEST_S3_ENDPOINT"

// testClient returns a client of the test S3 server, or skips the test.
func testClient(t *testing.T) *s3.Client {
	t.Helper()
	endpoint := os.Getenv(endpointEnv)
	if endpoint == "" {
		t.Skipf("%s is not set: run `make test`, or start the local S3 server with "+
			"`eval \"$(scripts/localaws/start.sh)\"` and run the tests again", endpointEnv)
	}
	return s3.New(s3.Options{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, s3blob.WithEndpoint(endpoint))
}

// newBucket creates a uniquely named bucket, emptied and deleted after the
// test.
func newBucket(t *testing.T, client *s3.Client) string {
	t.Helper()
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	bucket := "facelambda-test-" + hex.EncodeToString(b[:])
	require.NoError(t, s3blob.CreateBucket(t.Context(), client, bucket))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		assert.NoError(t, s3blob.DeleteBucket(ctx, client, bucket))
	})
	return bucket
}

func TestBlobs(t *testing.T) {
	client := testClient(t)
	storetest.Blobs(t, func(t *testing.T) store.Blobs {
		return s3blob.New(client, newBucket(t, client))
	})
}

func TestServerSideEncryption(t *testing.T) {
	client := testClient(t)
	tests := []struct {
		name   string
		kmsKey string
		want   types.ServerSideEncryption
	}{
		{"SSE-S3 by default", "", types.ServerSideEncryptionAes256},
		{"SSE-KMS with a key", "kms-key", types.ServerSideEncryptionAwsKms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bucket := newBucket(t, client)
			s := s3blob.New(client, bucket)
			s.KMSKeyID = tc.kmsKey
			require.NoError(t, s.Put(t.Context(), "t/s/f.jpg", []byte("x"), "image/jpeg"))
			head, err := client.HeadObject(t.Context(), &s3.HeadObjectInput{
				Bucket: aws.String(bucket), Key: aws.String("t/s/f.jpg"),
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, head.ServerSideEncryption)
			if tc.kmsKey != "" {
				assert.Contains(t, aws.ToString(head.SSEKMSKeyId), tc.kmsKey)
			}
		})
	}
}

func TestInvalidKeys(t *testing.T) {
	client := testClient(t)
	s := s3blob.New(client, newBucket(t, client))
	for _, key := range []string{"", "../x", "/etc/passwd", "a//b", "a/./b", "a b", "a/b/"} {
		t.Run(key, func(t *testing.T) {
			assert.Error(t, s.Put(t.Context(), key, []byte("x"), "image/jpeg"))
			_, _, err := s.Get(t.Context(), key)
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.PresignPut(t.Context(), key, "image/jpeg", 10, time.Minute)
			assert.Error(t, err)
		})
	}
	assert.Error(t, s.DeletePrefix(t.Context(), ""), "an empty prefix would empty the bucket")
	assert.Error(t, s.DeletePrefix(t.Context(), "../"))
}

func TestPingMissingBucket(t *testing.T) {
	client := testClient(t)
	assert.Error(t, s3blob.New(client, "facelambda-test-no-such-bucket").Ping(t.Context()))
}
