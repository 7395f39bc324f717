package dynamo

// store.Items on the records' table.
//
// Key design:
//
//	item   pk = "T#<tenant>#I#<kind>"   sk = "I#<id>"
//
// The items of one tenant and kind share a partition, so ListItems is one
// Query (ConsistentRead) on a range of sort keys: DynamoDB orders sort keys
// by their UTF-8 bytes, which is the order of Go's string comparison, so
// ids come back ascending as the port requires. Tenants and kinds may not
// contain '#', so no two (tenant, kind) pairs share a partition, and no
// item partition is a session's ("#S#"), a class's ("#C#"), a gallery's
// ("#G#", "#GALLERIES") or an API key's ("KEY#").
//
// Attributes besides the keys: tenant, kind, id, data (binary), created
// and expires (unix nanoseconds; expires is 0 for an item that never
// expires) and, for an item that expires, expiresAt (the TTL attribute,
// epoch seconds rounded up). Reads compare expires with Store.Now, since
// TTL deletes lazily; ListItems filters expired items in the query
// (FilterExpression on expires), so a page of expired items costs reads
// but is never returned.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

const (
	pkItems   = "#I#"
	skItemPfx = "I#"

	// maxItemData is the largest Data of an item, in bytes: DynamoDB's
	// item limit (400 KB) less room for keys and attributes. The embedded
	// store refuses the same.
	maxItemData = 380 << 10
)

var _ store.Items = (*Store)(nil)

// itemItem is a store.Item's DynamoDB item.
type itemItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Tenant    string `dynamodbav:"tenant"`
	Kind      string `dynamodbav:"kind"`
	ID        string `dynamodbav:"id"`
	Data      []byte `dynamodbav:"data,omitempty"`
	Created   int64  `dynamodbav:"created"`
	Expires   int64  `dynamodbav:"expires"`
	ExpiresAt int64  `dynamodbav:"expiresAt,omitempty"`
}

func itemsPK(tenant, kind string) string { return pkTenant + tenant + pkItems + kind }
func itemSK(id string) string            { return skItemPfx + id }

func (it itemItem) item() store.Item {
	out := store.Item{
		Tenant:  it.Tenant,
		Kind:    it.Kind,
		ID:      it.ID,
		Data:    it.Data,
		Created: fromNanos(it.Created),
	}
	if it.Expires != 0 {
		out.Expires = fromNanos(it.Expires)
	}
	return out
}

// itemLive reports whether an item expiring at expires (unix nanoseconds,
// 0 for never) is live.
func (s *Store) itemLive(expires int64) bool { return expires == 0 || s.live(expires) }

// PutItem creates or replaces an item. A zero Created is set to now.
func (s *Store) PutItem(ctx context.Context, it store.Item) error {
	if err := ident.CheckAll("tenant", it.Tenant, "item kind", it.Kind, "item id", it.ID); err != nil {
		return fmt.Errorf("put item: %w", err)
	}
	if len(it.Data) > maxItemData {
		return fmt.Errorf("put item %s/%s/%s: %w: data of %d bytes (at most %d)",
			it.Tenant, it.Kind, it.ID, ident.ErrInvalid, len(it.Data), maxItemData)
	}
	if it.Created.IsZero() {
		it.Created = s.now()
	}
	row := itemItem{
		PK:      itemsPK(it.Tenant, it.Kind),
		SK:      itemSK(it.ID),
		Tenant:  it.Tenant,
		Kind:    it.Kind,
		ID:      it.ID,
		Data:    it.Data,
		Created: it.Created.UnixNano(),
	}
	if !it.Expires.IsZero() {
		row.Expires = it.Expires.UnixNano()
		row.ExpiresAt = ttlSeconds(it.Expires)
		if row.Expires == 0 { // the epoch itself: long expired
			row.Expires = -1
		}
	}
	av, err := attributevalue.MarshalMap(row)
	if err != nil {
		return fmt.Errorf("put item %s/%s/%s: marshal: %w", it.Tenant, it.Kind, it.ID, err)
	}
	err = retryConflict(ctx, func() error {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av})
		return err
	})
	if err != nil {
		return fmt.Errorf("put item %s/%s/%s: %w", it.Tenant, it.Kind, it.ID, err)
	}
	return nil
}

// GetItem returns a live item.
func (s *Store) GetItem(ctx context.Context, tenant, kind, id string) (store.Item, error) {
	if err := store.CheckRead("get item", "tenant", tenant, "item kind", kind, "item id", id); err != nil {
		return store.Item{}, err
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(itemsPK(tenant, kind), itemSK(id)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Item{}, fmt.Errorf("get item %s/%s/%s: %w", tenant, kind, id, err)
	}
	if out.Item == nil {
		return store.Item{}, notFound("item", tenant, kind, id)
	}
	var row itemItem
	if err := attributevalue.UnmarshalMap(out.Item, &row); err != nil {
		return store.Item{}, fmt.Errorf("get item %s/%s/%s: unmarshal: %w", tenant, kind, id, err)
	}
	if !s.itemLive(row.Expires) {
		return store.Item{}, notFound("item", tenant, kind, id)
	}
	return row.item(), nil
}

// ListItems returns live items of a tenant and kind with ids in [from, to)
// ("" for an unbounded end), ascending by id (bytewise), at most limit
// (1,000 when limit is not positive).
func (s *Store) ListItems(ctx context.Context, tenant, kind, from, to string, limit int) ([]store.Item, error) {
	limit, empty, err := store.ListItemsArgs(tenant, kind, from, to, limit)
	if err != nil {
		return nil, err
	}
	out := []store.Item{}
	if empty {
		return out, nil
	}
	values := map[string]types.AttributeValue{
		":pk":   itemStr(itemsPK(tenant, kind)),
		":now":  num(s.now().UnixNano()),
		":zero": num(0),
	}
	// One condition on the sort key at most: [from, to) is BETWEEN from
	// AND to, the item whose id is to left out below.
	cond := "pk = :pk"
	switch {
	case from != "" && to != "":
		cond += " AND sk BETWEEN :from AND :to"
	case from != "":
		cond += " AND sk >= :from"
	case to != "":
		cond += " AND sk < :to"
	}
	if from != "" {
		values[":from"] = itemStr(itemSK(from))
	}
	if to != "" {
		values[":to"] = itemStr(itemSK(to))
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String(cond),
		FilterExpression:          aws.String("expires = :zero OR expires > :now"),
		ExpressionAttributeValues: values,
		ConsistentRead:            aws.Bool(true),
	}
	for {
		// Limit counts items before the filter: ask for what is missing
		// (and one more, which may be the excluded upper bound).
		in.Limit = aws.Int32(int32(min(limit-len(out)+1, 1000)))
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list items %s/%s: %w", tenant, kind, err)
		}
		for _, raw := range page.Items {
			var row itemItem
			if err := attributevalue.UnmarshalMap(raw, &row); err != nil {
				return nil, fmt.Errorf("list items %s/%s: unmarshal: %w", tenant, kind, err)
			}
			if to != "" && row.ID >= to {
				continue
			}
			out = append(out, row.item())
			if len(out) >= limit {
				return out, nil
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// DeleteItem deletes an item (ErrNotFound when it was absent or expired;
// an expired one is deleted all the same).
func (s *Store) DeleteItem(ctx context.Context, tenant, kind, id string) error {
	if err := store.CheckRead("delete item", "tenant", tenant, "item kind", kind, "item id", id); err != nil {
		return err
	}
	old, err := s.deleteOld(ctx, key(itemsPK(tenant, kind), itemSK(id)))
	if err != nil {
		return fmt.Errorf("delete item %s/%s/%s: %w", tenant, kind, id, err)
	}
	if old == nil {
		return notFound("item", tenant, kind, id)
	}
	exp, ok := old["expires"].(*types.AttributeValueMemberN)
	if !ok {
		return fmt.Errorf("delete item %s/%s/%s: no expires attribute", tenant, kind, id)
	}
	n, err := strconv.ParseInt(exp.Value, 10, 64)
	if err != nil {
		return fmt.Errorf("delete item %s/%s/%s: expires %q: %w", tenant, kind, id, exp.Value, err)
	}
	if !s.itemLive(n) {
		return notFound("item", tenant, kind, id)
	}
	return nil
}

func itemStr(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
