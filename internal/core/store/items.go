package store

import (
	"context"
	"time"
)

// Item is a small JSON document of a tenant, addressed by kind and id
// (webhook registrations, delivery logs, usage records).
type Item struct {
	Tenant  string
	Kind    string
	ID      string
	Data    []byte
	Created time.Time
	// Expires, when not zero, hides the item from reads after that time
	// (and lets DynamoDB's TTL delete it).
	Expires time.Time
}

// Items stores items. Kinds and ids follow the same rules as other ids.
type Items interface {
	// PutItem creates or replaces an item.
	PutItem(ctx context.Context, it Item) error
	// GetItem returns a live item (ErrNotFound when absent, expired or
	// another tenant's).
	GetItem(ctx context.Context, tenant, kind, id string) (Item, error)
	// ListItems returns a tenant's live items of a kind with ids in
	// [from, to) ("" for unbounded ends), ascending by id, at most limit.
	ListItems(ctx context.Context, tenant, kind, from, to string, limit int) ([]Item, error)
	// DeleteItem removes an item (ErrNotFound when absent).
	DeleteItem(ctx context.Context, tenant, kind, id string) error
}
