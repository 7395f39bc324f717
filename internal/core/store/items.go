package store

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/facelambda/facelambda/internal/core/store/ident"
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

// DefaultItemsLimit is ListItems' limit when the one given is not
// positive.
const DefaultItemsLimit = 1000

// ListItemsArgs checks the arguments of Items.ListItems for the adapters:
// invalid identifiers name no item (ErrNotFound), range bounds must be
// UTF-8. It returns the limit to use (DefaultItemsLimit when limit is not
// positive) and whether [from, to) can hold no id at all.
func ListItemsArgs(tenant, kind, from, to string, limit int) (n int, empty bool, err error) {
	if err := CheckRead("list items", "tenant", tenant, "item kind", kind); err != nil {
		return 0, false, err
	}
	if !utf8.ValidString(from) || !utf8.ValidString(to) {
		return 0, false, fmt.Errorf("list items %s/%s: %w: range bounds are not UTF-8", tenant, kind, ident.ErrInvalid)
	}
	if limit <= 0 {
		limit = DefaultItemsLimit
	}
	return limit, to != "" && to <= from, nil
}
