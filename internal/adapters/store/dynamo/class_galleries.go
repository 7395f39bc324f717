package dynamo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// galleryItem is a gallery's item.
type galleryItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Tenant      string `dynamodbav:"tenant"`
	Name        string `dynamodbav:"name"`
	Description string `dynamodbav:"description,omitempty"`
	Version     int64  `dynamodbav:"version"`
	Members     int    `dynamodbav:"members"`
	Created     int64  `dynamodbav:"created"`
	Inc         string `dynamodbav:"inc,omitempty"`
	// Deleted marks the tombstone of a deleted gallery, which keeps its
	// last version so that the versions of a name never repeat.
	Deleted bool `dynamodbav:"deleted,omitempty"`
}

func galleriesPK(tenant string) string { return pkTenant + tenant + pkGalleries }
func gallerySK(name string) string     { return skGalleryPfx + name }

func (it galleryItem) gallery() store.Gallery {
	return store.Gallery{
		Tenant:      it.Tenant,
		Name:        it.Name,
		Description: it.Description,
		Version:     it.Version,
		Members:     it.Members,
		Created:     fromNanos(it.Created),
	}
}

// galleryUpdate returns the update of a gallery's item by a membership
// change of delta members: the version goes up by one, on condition that
// the gallery exists as incarnation inc.
func (s *Store) galleryUpdate(tenant, name, inc string, delta int) *types.Update {
	return &types.Update{
		TableName:           aws.String(s.table),
		Key:                 key(galleriesPK(tenant), gallerySK(name)),
		UpdateExpression:    aws.String("SET #version = #version + :one, #members = #members + :delta"),
		ConditionExpression: aws.String("attribute_exists(pk) AND #inc = :inc"),
		ExpressionAttributeNames: map[string]string{
			"#version": "version", "#members": "members", "#inc": "inc",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":   num(1),
			":delta": num(int64(delta)),
			":inc":   str(inc),
		},
	}
}

// CreateGallery stores a new gallery, without members, as a new
// incarnation: at Version 1, or above the last version of a deleted
// gallery of the name (its tombstone).
func (s *Store) CreateGallery(ctx context.Context, g store.Gallery) error {
	if err := ident.CheckAll("tenant", g.Tenant, "gallery name", g.Name); err != nil {
		return fmt.Errorf("create gallery: %w", err)
	}
	if g.Created.IsZero() {
		g.Created = s.now()
	}
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			if serr := sleep(ctx, backoff(attempt)); serr != nil {
				return fmt.Errorf("create gallery %s/%s: %w", g.Tenant, g.Name, errors.Join(err, serr))
			}
		}
		var old galleryItem
		var exists bool
		old, exists, err = s.readGallery(ctx, g.Tenant, g.Name)
		if err != nil {
			return fmt.Errorf("create gallery %s/%s: %w", g.Tenant, g.Name, err)
		}
		if exists && !old.Deleted {
			return fmt.Errorf("create gallery %s/%s: %w", g.Tenant, g.Name, store.ErrExists)
		}
		in := &dynamodb.PutItemInput{
			TableName:           aws.String(s.table),
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}
		version := int64(1)
		if exists {
			version = old.Version + 1
			in.ConditionExpression = aws.String("#deleted = :true AND #version = :version")
			in.ExpressionAttributeNames = map[string]string{"#deleted": "deleted", "#version": "version"}
			in.ExpressionAttributeValues = map[string]types.AttributeValue{
				":true":    &types.AttributeValueMemberBOOL{Value: true},
				":version": num(old.Version),
			}
		}
		in.Item, err = attributevalue.MarshalMap(galleryItem{
			PK:          galleriesPK(g.Tenant),
			SK:          gallerySK(g.Name),
			Tenant:      g.Tenant,
			Name:        g.Name,
			Description: g.Description,
			Version:     version,
			Members:     0,
			Created:     g.Created.UnixNano(),
			Inc:         rand.Text(),
		})
		if err != nil {
			return fmt.Errorf("create gallery %s/%s: marshal: %w", g.Tenant, g.Name, err)
		}
		_, err = s.client.PutItem(ctx, in)
		if err == nil {
			return nil
		}
		// Created, or deleted, concurrently: read again.
		if !isConditionFailed(err) && !isConflict(err) {
			return fmt.Errorf("create gallery %s/%s: %w", g.Tenant, g.Name, err)
		}
	}
	return fmt.Errorf("create gallery %s/%s: gave up after %d attempts: %w", g.Tenant, g.Name, maxAttempts, err)
}

// getGallery reads a live gallery's item (ok false when absent or
// deleted).
func (s *Store) getGallery(ctx context.Context, tenant, name string) (galleryItem, bool, error) {
	it, ok, err := s.readGallery(ctx, tenant, name)
	if err != nil || !ok || it.Deleted {
		return galleryItem{}, false, err
	}
	return it, true, nil
}

// readGallery reads a gallery's item, or its tombstone (ok false when
// absent).
func (s *Store) readGallery(ctx context.Context, tenant, name string) (galleryItem, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(galleriesPK(tenant), gallerySK(name)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return galleryItem{}, false, err
	}
	if out.Item == nil {
		return galleryItem{}, false, nil
	}
	var it galleryItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return galleryItem{}, false, fmt.Errorf("unmarshal gallery: %w", err)
	}
	return it, true, nil
}

// GetGallery returns a gallery.
func (s *Store) GetGallery(ctx context.Context, tenant, name string) (store.Gallery, error) {
	if err := store.CheckRead("get gallery", "tenant", tenant, "gallery name", name); err != nil {
		return store.Gallery{}, err
	}
	it, ok, err := s.getGallery(ctx, tenant, name)
	if err != nil {
		return store.Gallery{}, fmt.Errorf("get gallery %s/%s: %w", tenant, name, err)
	}
	if !ok {
		return store.Gallery{}, notFound("gallery", tenant, name)
	}
	return it.gallery(), nil
}

// ListGalleries returns the tenant's galleries, sorted by name.
func (s *Store) ListGalleries(ctx context.Context, tenant string) ([]store.Gallery, error) {
	if err := store.CheckRead("list galleries", "tenant", tenant); err != nil {
		return nil, err
	}
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :pfx)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  str(galleriesPK(tenant)),
			":pfx": str(skGalleryPfx),
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("list galleries %s: %w", tenant, err)
	}
	out := make([]store.Gallery, 0, len(items))
	for _, raw := range items {
		var it galleryItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("list galleries %s: unmarshal: %w", tenant, err)
		}
		if !it.Deleted {
			out = append(out, it.gallery())
		}
	}
	return out, nil
}

// DeleteGallery turns the gallery item into a tombstone (one version up,
// without incarnation), then deletes its memberships.
func (s *Store) DeleteGallery(ctx context.Context, tenant, name string) error {
	if err := store.CheckRead("delete gallery", "tenant", tenant, "gallery name", name); err != nil {
		return err
	}
	var old map[string]types.AttributeValue
	err := retryConflict(ctx, func() error {
		out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table),
			Key:       key(galleriesPK(tenant), gallerySK(name)),
			UpdateExpression: aws.String("SET #deleted = :true, #version = #version + :one, #members = :zero " +
				"REMOVE #inc, #description"),
			ConditionExpression: aws.String("attribute_exists(pk) AND attribute_not_exists(#deleted)"),
			ExpressionAttributeNames: map[string]string{
				"#deleted": "deleted", "#version": "version", "#members": "members",
				"#inc": "inc", "#description": "description",
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":true": &types.AttributeValueMemberBOOL{Value: true},
				":one":  num(1),
				":zero": num(0),
			},
			ReturnValues: types.ReturnValueAllOld,
		})
		if err == nil {
			old = out.Attributes
		}
		return err
	})
	if isConditionFailed(err) {
		return notFound("gallery", tenant, name)
	}
	if err != nil {
		return fmt.Errorf("delete gallery %s/%s: %w", tenant, name, err)
	}
	var it galleryItem
	if err := attributevalue.UnmarshalMap(old, &it); err != nil {
		return fmt.Errorf("delete gallery %s/%s: unmarshal: %w", tenant, name, err)
	}
	// From here on no membership change of this incarnation can commit,
	// and every one committed before is visible to a consistent query.
	pk := membersPK(tenant, name, it.Inc)
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
		ProjectionExpression:      aws.String("pk, sk"),
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("delete gallery %s/%s: members: %w", tenant, name, err)
	}
	reqs := make([]types.WriteRequest, 0, 2*len(items))
	for _, raw := range items {
		var m membershipItem
		if err := attributevalue.UnmarshalMap(raw, &m); err != nil {
			return fmt.Errorf("delete gallery %s/%s: unmarshal: %w", tenant, name, err)
		}
		id, err := parseMemberSK(m.SK)
		if err != nil {
			return fmt.Errorf("delete gallery %s/%s: %w", tenant, name, err)
		}
		reqs = append(reqs,
			types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(pk, m.SK)}},
			types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(classPK(tenant, id), memberOfSK(name, it.Inc))}},
		)
	}
	if err := s.batchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("delete gallery %s/%s: members: %w", tenant, name, err)
	}
	return nil
}
