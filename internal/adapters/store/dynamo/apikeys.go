package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// apiKeyItem is an API key's item.
type apiKeyItem struct {
	PK      string   `dynamodbav:"pk"`
	SK      string   `dynamodbav:"sk"`
	Hash    string   `dynamodbav:"hash"`
	Tenant  string   `dynamodbav:"tenant"`
	Name    string   `dynamodbav:"name,omitempty"`
	Scopes  []string `dynamodbav:"scopes,omitempty"`
	Created int64    `dynamodbav:"created"`
	Origins []string `dynamodbav:"origins,omitempty"`
}

// PutAPIKey stores (or replaces) an API key under its hash.
func (s *Store) PutAPIKey(ctx context.Context, k store.APIKey) error {
	if err := ident.CheckAll("API key hash", k.Hash, "tenant", k.Tenant); err != nil {
		return fmt.Errorf("put API key: %w", err)
	}
	if k.Created.IsZero() {
		k.Created = s.now()
	}
	item, err := attributevalue.MarshalMap(apiKeyItem{
		PK:      pkKeyPfx + k.Hash,
		SK:      skAPIKey,
		Hash:    k.Hash,
		Tenant:  k.Tenant,
		Name:    k.Name,
		Scopes:  k.Scopes,
		Created: k.Created.UnixNano(),
		Origins: k.Origins,
	})
	if err != nil {
		return fmt.Errorf("put API key: marshal: %w", err)
	}
	err = retryConflict(ctx, func() error {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
		return err
	})
	if err != nil {
		return fmt.Errorf("put API key: %w", err)
	}
	return nil
}

// GetAPIKey returns the API key of a hash.
func (s *Store) GetAPIKey(ctx context.Context, hash string) (store.APIKey, error) {
	if err := store.CheckRead("get API key", "API key hash", hash); err != nil {
		return store.APIKey{}, err
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(pkKeyPfx+hash, skAPIKey),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.APIKey{}, fmt.Errorf("get API key: %w", err)
	}
	if out.Item == nil {
		return store.APIKey{}, fmt.Errorf("API key: %w", store.ErrNotFound)
	}
	var it apiKeyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return store.APIKey{}, fmt.Errorf("get API key: unmarshal: %w", err)
	}
	return store.APIKey{
		Hash:    it.Hash,
		Tenant:  it.Tenant,
		Name:    it.Name,
		Scopes:  it.Scopes,
		Origins: it.Origins,
		Created: fromNanos(it.Created),
	}, nil
}
