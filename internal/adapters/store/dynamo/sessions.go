package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// sessionItem is a session's item.
type sessionItem struct {
	PK            string `dynamodbav:"pk"`
	SK            string `dynamodbav:"sk"`
	Tenant        string `dynamodbav:"tenant"`
	ID            string `dynamodbav:"id"`
	CorrelationID string `dynamodbav:"correlationId,omitempty"`
	ImageStorage  bool   `dynamodbav:"imageStorage"`
	CallbackURL   string `dynamodbav:"callbackUrl,omitempty"`
	Created       int64  `dynamodbav:"created"`
	Expires       int64  `dynamodbav:"expires"`
	ExpiresAt     int64  `dynamodbav:"expiresAt"`
	Data          []byte `dynamodbav:"data,omitempty"`
}

func sessionPK(tenant, id string) string { return pkTenant + tenant + pkSession + id }

// CreateSession stores a new session. The id of an expired session that
// DynamoDB has not deleted yet can be taken again.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	if err := ident.CheckAll("tenant", sess.Tenant, "session id", sess.ID); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if sess.Expires.IsZero() {
		return fmt.Errorf("create session %s/%s: %w: no expiry", sess.Tenant, sess.ID, ident.ErrInvalid)
	}
	now := s.now()
	if sess.Created.IsZero() {
		sess.Created = now
	}
	item, err := attributevalue.MarshalMap(sessionItem{
		PK:            sessionPK(sess.Tenant, sess.ID),
		SK:            skSession,
		Tenant:        sess.Tenant,
		ID:            sess.ID,
		CorrelationID: sess.CorrelationID,
		ImageStorage:  sess.ImageStorage,
		CallbackURL:   sess.CallbackURL,
		Created:       sess.Created.UnixNano(),
		Expires:       sess.Expires.UnixNano(),
		ExpiresAt:     ttlSeconds(sess.Expires),
		Data:          sess.Data,
	})
	if err != nil {
		return fmt.Errorf("create session %s/%s: marshal: %w", sess.Tenant, sess.ID, err)
	}
	if err := s.putUnlessLive(ctx, item, now); err != nil {
		return fmt.Errorf("create session %s/%s: %w", sess.Tenant, sess.ID, err)
	}
	return nil
}

// putUnlessLive writes item unless an item with its key exists whose
// expires attribute is after now (store.ErrExists then): one conditional
// PutItem, so exactly one of racing writers of a live item wins.
func (s *Store) putUnlessLive(ctx context.Context, item map[string]types.AttributeValue, now time.Time) error {
	err := retryConflict(ctx, func() error {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(s.table),
			Item:                      item,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR expires <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.UnixNano())},
		})
		return err
	})
	if isConditionFailed(err) {
		return store.ErrExists
	}
	return err
}

// GetSession returns a live session.
func (s *Store) GetSession(ctx context.Context, tenant, id string) (store.Session, error) {
	if err := store.CheckRead("get session", "tenant", tenant, "session id", id); err != nil {
		return store.Session{}, err
	}
	item, ok, err := s.getSession(ctx, tenant, id)
	if err != nil {
		return store.Session{}, fmt.Errorf("get session %s/%s: %w", tenant, id, err)
	}
	if !ok || !s.live(item.Expires) {
		return store.Session{}, notFound("session", tenant, id)
	}
	return item.session(), nil
}

func (it sessionItem) session() store.Session {
	return store.Session{
		Tenant:        it.Tenant,
		ID:            it.ID,
		CorrelationID: it.CorrelationID,
		ImageStorage:  it.ImageStorage,
		CallbackURL:   it.CallbackURL,
		Created:       fromNanos(it.Created),
		Expires:       fromNanos(it.Expires),
		Data:          it.Data,
	}
}

// getSession reads the session item, live or not (ok false when absent).
func (s *Store) getSession(ctx context.Context, tenant, id string) (sessionItem, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(sessionPK(tenant, id), skSession),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return sessionItem{}, false, err
	}
	if out.Item == nil {
		return sessionItem{}, false, nil
	}
	var it sessionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return sessionItem{}, false, fmt.Errorf("unmarshal session: %w", err)
	}
	return it, true, nil
}

// liveSession returns the live session item or store.ErrNotFound.
func (s *Store) liveSession(ctx context.Context, tenant, id string) (sessionItem, error) {
	it, ok, err := s.getSession(ctx, tenant, id)
	if err != nil {
		return sessionItem{}, err
	}
	if !ok || !s.live(it.Expires) {
		return sessionItem{}, notFound("session", tenant, id)
	}
	return it, nil
}

// UpdateSessionData replaces the session's data attribute when it still
// holds old, in one conditional update.
func (s *Store) UpdateSessionData(ctx context.Context, tenant, id string, old, data []byte) error {
	if err := store.CheckRead("update session", "tenant", tenant, "session id", id); err != nil {
		return err
	}
	cond := "attribute_exists(pk) AND expires > :now AND "
	vals := map[string]types.AttributeValue{":now": num(s.now().UnixNano())}
	if len(old) == 0 {
		cond += "attribute_not_exists(#d)"
	} else {
		cond += "#d = :old"
		vals[":old"] = &types.AttributeValueMemberB{Value: old}
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(sessionPK(tenant, id), skSession),
		ConditionExpression:      aws.String(cond),
		ExpressionAttributeNames: map[string]string{"#d": "data"},
	}
	if len(data) == 0 {
		in.UpdateExpression = aws.String("REMOVE #d")
	} else {
		in.UpdateExpression = aws.String("SET #d = :new")
		vals[":new"] = &types.AttributeValueMemberB{Value: data}
	}
	in.ExpressionAttributeValues = vals
	err := retryConflict(ctx, func() error {
		_, err := s.client.UpdateItem(ctx, in)
		return err
	})
	if err == nil {
		return nil
	}
	if !isConditionFailed(err) {
		return fmt.Errorf("update session %s/%s: %w", tenant, id, err)
	}
	// Tell a missing or expired session from changed data.
	if _, err := s.liveSession(ctx, tenant, id); err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	return fmt.Errorf("update session %s/%s: %w", tenant, id, store.ErrConflict)
}

// DeleteSession deletes the session item, then every face of it. It
// reports store.ErrNotFound when the session was missing or expired, after
// removing whatever was left of it.
func (s *Store) DeleteSession(ctx context.Context, tenant, id string) error {
	if err := store.CheckRead("delete session", "tenant", tenant, "session id", id); err != nil {
		return err
	}
	pk := sessionPK(tenant, id)
	old, err := s.deleteOld(ctx, key(pk, skSession))
	if err != nil {
		return fmt.Errorf("delete session %s/%s: %w", tenant, id, err)
	}
	// From here on no PutFace can commit, and every face committed before
	// is visible to a consistent query.
	if _, err := s.deleteFaces(ctx, pk, 0); err != nil {
		return fmt.Errorf("delete session %s/%s: faces: %w", tenant, id, err)
	}
	if old == nil {
		return notFound("session", tenant, id)
	}
	var it sessionItem
	if err := attributevalue.UnmarshalMap(old, &it); err != nil {
		return fmt.Errorf("delete session %s/%s: unmarshal: %w", tenant, id, err)
	}
	if !s.live(it.Expires) {
		return notFound("session", tenant, id)
	}
	return nil
}
