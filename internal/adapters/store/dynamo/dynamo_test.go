package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/adapters/store/storetest"
	"github.com/facelambda/facelambda/internal/core/store"
)

// endpointEnv names the DynamoDB endpoint the tests run against.
const endpointEnv = "FACELAMBDA_TEST_DYNAMODB_ENDPOINT"

// testClient returns a client of the test DynamoDB, or skips the test.
func testClient(t *testing.T) *dynamodb.Client {
	t.Helper()
	endpoint := os.Getenv(endpointEnv)
	if endpoint == "" {
		t.Skipf("%s is not set: run `make test`, or start DynamoDB Local with "+
			"`eval \"$(scripts/localaws/start.sh)\"` and run the tests again", endpointEnv)
	}
	return dynamodb.New(dynamodb.Options{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, dynamo.WithEndpoint(endpoint))
}

// newTable creates a uniquely named table, deleted after the test.
func newTable(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	var b [6]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	table := "facelambda-test-" + hex.EncodeToString(b[:])
	require.NoError(t, dynamo.CreateTable(t.Context(), client, table))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, dynamo.DeleteTable(ctx, client, table))
	})
	return table
}

func TestRecords(t *testing.T) {
	client := testClient(t)
	storetest.Records(t, func(t *testing.T) store.Records {
		return dynamo.New(client, newTable(t, client))
	})
}

func TestCreateTableIdempotent(t *testing.T) {
	client := testClient(t)
	table := newTable(t, client)
	require.NoError(t, dynamo.CreateTable(t.Context(), client, table))
	ttl, err := client.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	require.NoError(t, err)
	require.NotNil(t, ttl.TimeToLiveDescription)
	assert.Equal(t, "expiresAt", aws.ToString(ttl.TimeToLiveDescription.AttributeName))
}

// TestClock checks expiry follows the injected clock.
func TestClock(t *testing.T) {
	client := testClient(t)
	s := dynamo.New(client, newTable(t, client))
	now := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	s.Now = func() time.Time { return now }
	ctx := t.Context()

	sess := store.Session{Tenant: "t1", ID: "s1", Created: now, Expires: now.Add(time.Minute)}
	require.NoError(t, s.CreateSession(ctx, sess))
	f, err := s.PutFace(ctx, store.Face{Tenant: "t1", SessionID: "s1", ID: "f1"})
	require.NoError(t, err)
	assert.True(t, f.Created.Equal(now))
	assert.True(t, f.Expires.Equal(sess.Expires))

	now = sess.Expires.Add(-time.Nanosecond)
	_, err = s.GetFace(ctx, "t1", "s1", "f1")
	require.NoError(t, err)

	now = sess.Expires
	_, err = s.GetSession(ctx, "t1", "s1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetFace(ctx, "t1", "s1", "f1")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.PutFace(ctx, store.Face{Tenant: "t1", SessionID: "s1", ID: "f2"})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestPingMissingTable(t *testing.T) {
	client := testClient(t)
	s := dynamo.New(client, "facelambda-test-no-such-table")
	assert.Error(t, s.Ping(t.Context()))
}

// TestManyFaces exercises query pages and delete batches beyond 25 items.
func TestManyFaces(t *testing.T) {
	client := testClient(t)
	s := dynamo.New(client, newTable(t, client))
	ctx := t.Context()
	now := time.Now()
	sess := store.Session{Tenant: "t1", ID: "s1", Created: now, Expires: now.Add(time.Hour)}
	require.NoError(t, s.CreateSession(ctx, sess))
	template := make([]byte, 64<<10) // 60 faces of 64 KiB: more than one 1 MB query page
	const n = 60
	for i := range n {
		_, err := s.PutFace(ctx, store.Face{
			Tenant: "t1", SessionID: "s1", ID: hex.EncodeToString([]byte{byte(i)}),
			Created: now.Add(time.Duration(n-i) * time.Second), Template: template,
		})
		require.NoError(t, err)
	}
	faces, err := s.ListFaces(ctx, "t1", "s1")
	require.NoError(t, err)
	require.Len(t, faces, n)
	assert.Equal(t, hex.EncodeToString([]byte{n - 1}), faces[0].ID, "oldest first")

	deleted, err := s.DeleteFaces(ctx, "t1", "s1")
	require.NoError(t, err)
	assert.Equal(t, n, deleted)
	faces, err = s.ListFaces(ctx, "t1", "s1")
	require.NoError(t, err)
	assert.Empty(t, faces)
}

func TestClasses(t *testing.T) {
	client := testClient(t)
	storetest.Classes(t, func(t *testing.T) store.Classes {
		return dynamo.New(client, newTable(t, client))
	})
}
