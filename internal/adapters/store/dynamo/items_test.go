package dynamo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/dynamo"
	"github.com/facelambda/facelambda/internal/adapters/store/storetest"
	"github.com/facelambda/facelambda/internal/core/store"
)

// TestItems runs the suite on one table: its subtests use tenants of
// their own.
func TestItems(t *testing.T) {
	client := testClient(t)
	table := newTable(t, client)
	storetest.Items(t, func(t *testing.T) store.Items {
		return dynamo.New(client, table)
	})
}

// TestItemsClock checks item expiry follows the injected clock and that
// expiring items carry the TTL attribute.
func TestItemsClock(t *testing.T) {
	client := testClient(t)
	table := newTable(t, client)
	s := dynamo.New(client, table)
	now := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	s.Now = func() time.Time { return now }
	ctx := t.Context()
	it := store.Item{Tenant: "t1", Kind: "delivery", ID: "d1", Data: []byte("x"), Expires: now.Add(time.Minute)}
	require.NoError(t, s.PutItem(ctx, it))
	got, err := s.GetItem(ctx, "t1", "delivery", "d1")
	require.NoError(t, err)
	assert.True(t, got.Created.Equal(now))
	raw, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "T#t1#I#delivery"},
		"sk": &types.AttributeValueMemberS{Value: "I#d1"},
	}})
	require.NoError(t, err)
	require.Contains(t, raw.Item, "expiresAt", "the key design of items.go")
	assert.Equal(t, fmt.Sprint(it.Expires.Unix()+1), raw.Item["expiresAt"].(*types.AttributeValueMemberN).Value)

	now = it.Expires
	_, err = s.GetItem(ctx, "t1", "delivery", "d1")
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err := s.ListItems(ctx, "t1", "delivery", "", "", 0)
	require.NoError(t, err)
	assert.Empty(t, list)
}
