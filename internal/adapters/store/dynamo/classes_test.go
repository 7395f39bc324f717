package dynamo_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/core/store"
)

func rawKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

// scanKeys returns the pk and sk of every item of the table.
func scanKeys(t *testing.T, client *dynamodb.Client, table string) [][2]string {
	t.Helper()
	var keys [][2]string
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		require.NoError(t, err)
		for _, it := range page.Items {
			var k struct {
				PK string `dynamodbav:"pk"`
				SK string `dynamodbav:"sk"`
			}
			require.NoError(t, attributevalue.UnmarshalMap(it, &k))
			keys = append(keys, [2]string{k.PK, k.SK})
		}
	}
	return keys
}

// TestGalleryLeftovers simulates a DeleteGallery cut short after it deleted
// the gallery's item: a gallery created again under the name does not
// inherit the old memberships, and DeleteClass erases them.
func TestGalleryLeftovers(t *testing.T) {
	client := testClient(t)
	table := newTable(t, client)
	s := dynamo.New(client, table)
	ctx := t.Context()

	require.NoError(t, s.CreateGallery(ctx, store.Gallery{Tenant: "t1", Name: "g"}))
	_, err := s.AddMembers(ctx, "t1", "g", []uint64{1, 2, 3})
	require.NoError(t, err)
	_, err = s.PutClass(ctx, store.Class{Tenant: "t1", ClassID: 1})
	require.NoError(t, err)
	// The gallery item becomes a tombstone (version 3), and then the
	// DeleteGallery stops.
	_, err = client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(table),
		Key:                      rawKey("T#t1#GALLERIES", "G#g"),
		UpdateExpression:         aws.String("SET #d = :t, #v = #v + :one REMOVE #inc"),
		ExpressionAttributeNames: map[string]string{"#d": "deleted", "#v": "version", "#inc": "inc"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t":   &types.AttributeValueMemberBOOL{Value: true},
			":one": &types.AttributeValueMemberN{Value: "1"},
		},
	})
	require.NoError(t, err)
	_, err = s.GetGallery(ctx, "t1", "g")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.CreateGallery(ctx, store.Gallery{Tenant: "t1", Name: "g"}))
	g, err := s.GetGallery(ctx, "t1", "g")
	require.NoError(t, err)
	assert.Zero(t, g.Members)
	assert.EqualValues(t, 4, g.Version, "above the tombstone")
	ids, next, err := s.Members(ctx, "t1", "g", 0, 10)
	require.NoError(t, err)
	assert.Empty(t, ids)
	assert.Zero(t, next)
	names, err := s.GalleriesOf(ctx, "t1", 1)
	require.NoError(t, err)
	assert.Empty(t, names, "a membership of the old incarnation")

	g, err = s.AddMembers(ctx, "t1", "g", []uint64{2})
	require.NoError(t, err)
	assert.Equal(t, 1, g.Members)
	names, err = s.GalleriesOf(ctx, "t1", 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"g"}, names)

	// Erasure reaches the leftovers, and the current memberships.
	_, err = s.DeleteClass(ctx, "t1", 1)
	require.NoError(t, err)
	_, err = s.DeleteClass(ctx, "t1", 2)
	require.ErrorIs(t, err, store.ErrNotFound)
	g, err = s.GetGallery(ctx, "t1", "g")
	require.NoError(t, err)
	assert.Zero(t, g.Members)
	assert.EqualValues(t, 6, g.Version, "bumped by the erasure of 2, not of the leftover 1")
	for _, k := range scanKeys(t, client, table) {
		if k == [2]string{"T#t1#C#1", "CLASS"} {
			// The tombstone keeps the version only (and expires).
			out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table),
				Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: k[0]}, "sk": &types.AttributeValueMemberS{Value: k[1]}}})
			require.NoError(t, err)
			assert.ElementsMatch(t, []string{"pk", "sk", "tenant", "classId", "version", "deleted", "expiresAt"}, slices.Collect(maps.Keys(out.Item)))
			continue
		}
		for _, id := range []string{"1", "2"} {
			assert.NotEqual(t, "T#t1#C#"+id, k[0], "item %v of an erased class id", k)
			assert.NotEqual(t, "M#"+strings.Repeat("0", 19)+id, k[1], "membership %v of an erased class id", k)
		}
	}
}

// loseFirstResponse is a client option that fails the first call of op
// with a retryable error after DynamoDB has carried it out, as when a
// response is lost: the SDK sends the request again.
func loseFirstResponse(op string, lost *atomic.Int32) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("loseResponse",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if err == nil && middleware.GetOperationName(ctx) == op && lost.CompareAndSwap(0, 1) {
						return out, md, retryableError{}
					}
					return out, md, err
				}), middleware.After)
		})
	}
}

type retryableError struct{}

func (retryableError) Error() string        { return "response lost" }
func (retryableError) RetryableError() bool { return true }

// TestPutClassLostResponse checks a PutClass whose first response is lost
// reports its own write as done, not as a conflict.
func TestPutClassLostResponse(t *testing.T) {
	client := testClient(t)
	table := newTable(t, client)
	var lost atomic.Int32
	lossy := dynamodb.New(client.Options(), loseFirstResponse("UpdateItem", &lost))
	s := dynamo.New(lossy, table)
	ctx := t.Context()

	c, err := s.PutClass(ctx, store.Class{Tenant: "t1", ClassID: 1, Encoder: "e1"})
	require.NoError(t, err, "the create went through")
	require.EqualValues(t, 1, lost.Load(), "a response was lost")
	assert.EqualValues(t, 1, c.Version)

	lost.Store(0)
	c.Encoder = "e2"
	c2, err := s.PutClass(ctx, c)
	require.NoError(t, err, "the update went through")
	require.EqualValues(t, 1, lost.Load(), "a response was lost")
	assert.EqualValues(t, 2, c2.Version)
	assert.True(t, c2.Created.Equal(c.Created))

	got, err := s.GetClass(ctx, "t1", 1)
	require.NoError(t, err)
	assert.EqualValues(t, 2, got.Version)
	assert.Equal(t, "e2", got.Encoder)

	// A real conflict is still one.
	_, err = s.PutClass(ctx, c)
	require.ErrorIs(t, err, store.ErrConflict)
}
