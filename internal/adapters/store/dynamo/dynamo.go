// Package dynamo implements store.Records and store.Classes on one
// DynamoDB table (single-table design; the keys of classes and galleries
// are described in classes.go).
//
// Key design (partition key "pk", sort key "sk", both strings):
//
//	session   pk = "T#<tenant>#S#<session id>"  sk = "SESSION"
//	face      pk = "T#<tenant>#S#<session id>"  sk = "FACE#<face id>"
//	API key   pk = "KEY#<sha-256 hex>"          sk = "KEY"
//
// A session and its faces share a partition, so one Query (ConsistentRead)
// finds every face of a session. Faces are keyed by id, so GetFace is a
// GetItem; ListFaces sorts them by their "created" attribute (unix
// nanoseconds) in memory, oldest first (ties by id): a session holds few
// faces. Identifiers may not contain '#' (nor '/'), so no two (tenant, id)
// pairs share a key.
//
// Sessions and faces carry "expires" (unix nanoseconds, exact, used for
// every liveness check) and "expiresAt" (epoch seconds rounded up, the
// table's TTL attribute, so DynamoDB deletes them some time after they
// expire). Since TTL deletes lazily, every read compares "expires" with
// Store.Now. A face's "expires" is its session's, which also ties a face to
// one incarnation of a session id: faces of an expired session do not
// reappear under a new session that reuses the id.
//
// PutFace reads the session, then writes the face in a transaction with a
// ConditionCheck that the session item still exists with the same expiry
// and is live; DeleteSession deletes the session item first and then
// every face it finds (ConsistentRead), so a concurrent PutFace either
// committed before the delete, and its face is deleted, or fails with
// store.ErrNotFound. Reads of faces confirm the session is live after
// reading the faces, so a face whose session is gone (even if a
// DeleteSession died half-way) is never returned.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// Attribute names.
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrExpiresAt = "expiresAt" // the TTL attribute

	skSession  = "SESSION"
	skFacePfx  = "FACE#"
	skAPIKey   = "KEY"
	pkTenant   = "T#"
	pkSession  = "#S#"
	pkKeyPfx   = "KEY#"
	batchLimit = 25 // items per BatchWriteItem
)

// maxAttempts bounds the retries of writes that lost a transaction
// conflict (concurrent transactions on the same session item).
const maxAttempts = 10

// Store is a store.Records and a store.Classes on one DynamoDB table.
type Store struct {
	client *dynamodb.Client
	table  string
	// Now is the clock used for expiry (time.Now by default).
	Now func() time.Time
}

var _ store.Records = (*Store)(nil)

// New returns a Store on table, which must exist (see CreateTable).
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table, Now: time.Now}
}

// WithEndpoint returns a client option that sends requests to endpoint,
// such as DynamoDB Local's "http://127.0.0.1:8000".
func WithEndpoint(endpoint string) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) }
}

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

// faceItem is a face's item.
type faceItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	Tenant    string `dynamodbav:"tenant"`
	SessionID string `dynamodbav:"sessionId"`
	ID        string `dynamodbav:"id"`
	Created   int64  `dynamodbav:"created"`
	Expires   int64  `dynamodbav:"expires"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
	Data      []byte `dynamodbav:"data,omitempty"`
	Template  []byte `dynamodbav:"template,omitempty"`
	HasImage  bool   `dynamodbav:"hasImage"`
}

// apiKeyItem is an API key's item.
type apiKeyItem struct {
	PK      string   `dynamodbav:"pk"`
	SK      string   `dynamodbav:"sk"`
	Hash    string   `dynamodbav:"hash"`
	Tenant  string   `dynamodbav:"tenant"`
	Name    string   `dynamodbav:"name,omitempty"`
	Scopes  []string `dynamodbav:"scopes,omitempty"`
	Created int64    `dynamodbav:"created"`
}

func sessionPK(tenant, id string) string { return pkTenant + tenant + pkSession + id }
func faceSK(id string) string            { return skFacePfx + id }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
}

// ttlSeconds is the TTL attribute of an item expiring at t: epoch seconds
// rounded up, so DynamoDB never deletes an item before it expires.
func ttlSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// notFound wraps store.ErrNotFound with what was looked for.
func notFound(what string, ids ...string) error {
	return fmt.Errorf("%s %s: %w", what, strings.Join(ids, "/"), store.ErrNotFound)
}

// checkRead validates identifiers of a read: an invalid one names no
// record, so it is reported as not found.
func checkRead(what string, kindValue ...string) error {
	if err := ident.CheckAll(kindValue...); err != nil {
		return fmt.Errorf("%s: %w (%w)", what, store.ErrNotFound, err)
	}
	return nil
}

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
	err = retryConflict(ctx, func() error {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           aws.String(s.table),
			Item:                item,
			ConditionExpression: aws.String("attribute_not_exists(pk) OR expires <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": num(now.UnixNano()),
			},
		})
		return err
	})
	if err != nil {
		if isConditionFailed(err) {
			return fmt.Errorf("create session %s/%s: %w", sess.Tenant, sess.ID, store.ErrExists)
		}
		return fmt.Errorf("create session %s/%s: %w", sess.Tenant, sess.ID, err)
	}
	return nil
}

// GetSession returns a live session.
func (s *Store) GetSession(ctx context.Context, tenant, id string) (store.Session, error) {
	if err := checkRead("get session", "tenant", tenant, "session id", id); err != nil {
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

func (it faceItem) face() store.Face {
	return store.Face{
		Tenant:    it.Tenant,
		SessionID: it.SessionID,
		ID:        it.ID,
		Created:   fromNanos(it.Created),
		Expires:   fromNanos(it.Expires),
		Data:      it.Data,
		Template:  it.Template,
		HasImage:  it.HasImage,
	}
}

// live reports whether an item expiring at expires (unix nanoseconds) is
// still live.
func (s *Store) live(expires int64) bool { return expires > s.now().UnixNano() }

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
	if err := checkRead("update session", "tenant", tenant, "session id", id); err != nil {
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
	if err := checkRead("delete session", "tenant", tenant, "session id", id); err != nil {
		return err
	}
	pk := sessionPK(tenant, id)
	var old map[string]types.AttributeValue
	err := retryConflict(ctx, func() error {
		out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:    aws.String(s.table),
			Key:          key(pk, skSession),
			ReturnValues: types.ReturnValueAllOld,
		})
		if err == nil {
			old = out.Attributes
		}
		return err
	})
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

// PutFace stores a face in a live session, with the session's expiry.
func (s *Store) PutFace(ctx context.Context, f store.Face) (store.Face, error) {
	if err := ident.CheckAll("tenant", f.Tenant, "session id", f.SessionID); err != nil {
		return store.Face{}, fmt.Errorf("put face: %w (%w)", store.ErrNotFound, err)
	}
	if err := ident.Check("face id", f.ID); err != nil {
		return store.Face{}, fmt.Errorf("put face: %w", err)
	}
	pk := sessionPK(f.Tenant, f.SessionID)
	var out store.Face
	err := retryConflict(ctx, func() error {
		sess, err := s.liveSession(ctx, f.Tenant, f.SessionID)
		if err != nil {
			return err
		}
		now := s.now()
		out = f
		out.Expires = fromNanos(sess.Expires)
		if out.Created.IsZero() {
			out.Created = now
		}
		item, err := attributevalue.MarshalMap(faceItem{
			PK:        pk,
			SK:        faceSK(f.ID),
			Tenant:    f.Tenant,
			SessionID: f.SessionID,
			ID:        f.ID,
			Created:   out.Created.UnixNano(),
			Expires:   sess.Expires,
			ExpiresAt: ttlSeconds(out.Expires),
			Data:      f.Data,
			Template:  f.Template,
			HasImage:  f.HasImage,
		})
		if err != nil {
			return fmt.Errorf("marshal: %w", err)
		}
		_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: []types.TransactWriteItem{
				{ConditionCheck: &types.ConditionCheck{
					TableName: aws.String(s.table),
					Key:       key(pk, skSession),
					// The same session (its expiry and creation), still live.
					ConditionExpression: aws.String("expires = :exp AND created = :created AND expires > :now"),
					ExpressionAttributeValues: map[string]types.AttributeValue{
						":exp":     num(sess.Expires),
						":created": num(sess.Created),
						":now":     num(now.UnixNano()),
					},
				}},
				{Put: &types.Put{
					TableName: aws.String(s.table),
					Item:      item,
					// A face of an expired incarnation of the session may
					// still be there: it is as good as absent.
					ConditionExpression: aws.String("attribute_not_exists(pk) OR expires <> :exp OR expires <= :now"),
					ExpressionAttributeValues: map[string]types.AttributeValue{
						":exp": num(sess.Expires),
						":now": num(now.UnixNano()),
					},
				}},
			},
		})
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) {
			reasons := tce.CancellationReasons
			switch {
			case len(reasons) == 2 && reasonCode(reasons[0]) == "ConditionalCheckFailed":
				return notFound("session", f.Tenant, f.SessionID)
			case len(reasons) == 2 && reasonCode(reasons[1]) == "ConditionalCheckFailed":
				return fmt.Errorf("face %s/%s/%s: %w", f.Tenant, f.SessionID, f.ID, store.ErrExists)
			}
		}
		return err
	})
	if err != nil {
		return store.Face{}, fmt.Errorf("put face: %w", err)
	}
	return out, nil
}

// GetFace returns a live face of a live session.
func (s *Store) GetFace(ctx context.Context, tenant, sessionID, faceID string) (store.Face, error) {
	if err := checkRead("get face", "tenant", tenant, "session id", sessionID, "face id", faceID); err != nil {
		return store.Face{}, err
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(sessionPK(tenant, sessionID), faceSK(faceID)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Face{}, fmt.Errorf("get face %s/%s/%s: %w", tenant, sessionID, faceID, err)
	}
	if out.Item == nil {
		return store.Face{}, notFound("face", tenant, sessionID, faceID)
	}
	var it faceItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return store.Face{}, fmt.Errorf("get face %s/%s/%s: unmarshal: %w", tenant, sessionID, faceID, err)
	}
	// The session is read after the face: if it is live now, it was when
	// the face was read, since DeleteSession deletes it before the faces.
	sess, err := s.liveSession(ctx, tenant, sessionID)
	if err != nil {
		return store.Face{}, fmt.Errorf("get face %s/%s/%s: %w", tenant, sessionID, faceID, err)
	}
	if it.Expires != sess.Expires || !s.live(it.Expires) {
		return store.Face{}, notFound("face", tenant, sessionID, faceID)
	}
	return it.face(), nil
}

// ListFaces returns the live faces of a live session, oldest first.
func (s *Store) ListFaces(ctx context.Context, tenant, sessionID string) ([]store.Face, error) {
	if err := checkRead("list faces", "tenant", tenant, "session id", sessionID); err != nil {
		return nil, err
	}
	items, err := s.queryFaces(ctx, sessionPK(tenant, sessionID), false)
	if err != nil {
		return nil, fmt.Errorf("list faces %s/%s: %w", tenant, sessionID, err)
	}
	// Confirm the session after reading its faces (see GetFace).
	sess, err := s.liveSession(ctx, tenant, sessionID)
	if err != nil {
		return nil, fmt.Errorf("list faces %s/%s: %w", tenant, sessionID, err)
	}
	faces := make([]store.Face, 0, len(items))
	for _, raw := range items {
		var it faceItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("list faces %s/%s: unmarshal: %w", tenant, sessionID, err)
		}
		if it.Expires == sess.Expires && s.live(it.Expires) {
			faces = append(faces, it.face())
		}
	}
	slices.SortFunc(faces, func(a, b store.Face) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return faces, nil
}

// queryFaces returns every face item of the partition pk (only key and
// expiry attributes when keysOnly).
func (s *Store) queryFaces(ctx context.Context, pk string, keysOnly bool) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :face)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   &types.AttributeValueMemberS{Value: pk},
			":face": &types.AttributeValueMemberS{Value: skFacePfx},
		},
		ConsistentRead: aws.Bool(true),
	}
	if keysOnly {
		in.ProjectionExpression = aws.String("pk, sk, expires")
	}
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query faces: %w", err)
		}
		items = append(items, page.Items...)
	}
	return items, nil
}

// DeleteFace deletes a live face.
func (s *Store) DeleteFace(ctx context.Context, tenant, sessionID, faceID string) error {
	if err := checkRead("delete face", "tenant", tenant, "session id", sessionID, "face id", faceID); err != nil {
		return err
	}
	var old map[string]types.AttributeValue
	err := retryConflict(ctx, func() error {
		out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:    aws.String(s.table),
			Key:          key(sessionPK(tenant, sessionID), faceSK(faceID)),
			ReturnValues: types.ReturnValueAllOld,
		})
		if err == nil {
			old = out.Attributes
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete face %s/%s/%s: %w", tenant, sessionID, faceID, err)
	}
	if old == nil {
		return notFound("face", tenant, sessionID, faceID)
	}
	var it faceItem
	if err := attributevalue.UnmarshalMap(old, &it); err != nil {
		return fmt.Errorf("delete face %s/%s/%s: unmarshal: %w", tenant, sessionID, faceID, err)
	}
	if !s.live(it.Expires) {
		return notFound("face", tenant, sessionID, faceID)
	}
	return nil
}

// DeleteFaces deletes every face of a live session and returns how many
// were live. Faces put concurrently may survive: the session is live.
func (s *Store) DeleteFaces(ctx context.Context, tenant, sessionID string) (int, error) {
	if err := checkRead("delete faces", "tenant", tenant, "session id", sessionID); err != nil {
		return 0, err
	}
	pk := sessionPK(tenant, sessionID)
	sess, ok, err := s.getSession(ctx, tenant, sessionID)
	if err != nil {
		return 0, fmt.Errorf("delete faces %s/%s: %w", tenant, sessionID, err)
	}
	if !ok || !s.live(sess.Expires) {
		// Remove whatever a dead session left behind.
		if _, err := s.deleteFaces(ctx, pk, 0); err != nil {
			return 0, fmt.Errorf("delete faces %s/%s: %w", tenant, sessionID, err)
		}
		return 0, notFound("session", tenant, sessionID)
	}
	n, err := s.deleteFaces(ctx, pk, sess.Expires)
	if err != nil {
		return 0, fmt.Errorf("delete faces %s/%s: %w", tenant, sessionID, err)
	}
	return n, nil
}

// deleteFaces deletes every face item of the partition pk and returns how
// many were live faces of the session incarnation expiring at expires.
func (s *Store) deleteFaces(ctx context.Context, pk string, expires int64) (int, error) {
	items, err := s.queryFaces(ctx, pk, true)
	if err != nil {
		return 0, err
	}
	now := s.now().UnixNano()
	live := 0
	reqs := make([]types.WriteRequest, 0, len(items))
	for _, it := range items {
		var e struct {
			Expires int64 `dynamodbav:"expires"`
		}
		if err := attributevalue.UnmarshalMap(it, &e); err != nil {
			return 0, fmt.Errorf("unmarshal face: %w", err)
		}
		if e.Expires == expires && e.Expires > now {
			live++
		}
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{
			Key: map[string]types.AttributeValue{attrPK: it[attrPK], attrSK: it[attrSK]},
		}})
	}
	if err := s.batchWrite(ctx, reqs); err != nil {
		return 0, err
	}
	return live, nil
}

// batchWrite runs reqs in batches of 25, retrying unprocessed items with
// backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		n := min(len(reqs), batchLimit)
		batch := reqs[:n]
		reqs = reqs[n:]
		for attempt := 0; len(batch) > 0; attempt++ {
			if attempt > 0 {
				if err := sleep(ctx, backoff(attempt)); err != nil {
					return err
				}
			}
			out, err := s.client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{s.table: batch},
			})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			batch = out.UnprocessedItems[s.table]
			if len(batch) > 0 && attempt+1 >= 2*maxAttempts {
				return fmt.Errorf("batch write: %d items still unprocessed after %d attempts", len(batch), attempt+1)
			}
		}
	}
	return nil
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
	if err := checkRead("get API key", "API key hash", hash); err != nil {
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
		Created: fromNanos(it.Created),
	}, nil
}

// Ping checks the table answers.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)}); err != nil {
		return fmt.Errorf("ping dynamodb table %s: %w", s.table, err)
	}
	return nil
}

func reasonCode(r types.CancellationReason) string { return aws.ToString(r.Code) }

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// isConflict reports whether err lost a race with a transaction on the
// same item, so that the operation can be tried again.
func isConflict(err error) bool {
	var tc *types.TransactionConflictException
	if errors.As(err, &tc) {
		return true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if reasonCode(r) == "TransactionConflict" {
				return true
			}
		}
	}
	return false
}

// retryConflict runs op until it does not fail with a transaction
// conflict, at most maxAttempts times, with jittered exponential backoff.
func retryConflict(ctx context.Context, op func() error) error {
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			if serr := sleep(ctx, backoff(attempt)); serr != nil {
				return errors.Join(err, serr)
			}
		}
		if err = op(); !isConflict(err) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d transaction conflicts: %w", maxAttempts, err)
}

// backoff returns a full-jitter delay for a retry: up to 10 ms doubling
// per attempt, capped at 500 ms.
func backoff(attempt int) time.Duration {
	ceiling := min(10*time.Millisecond<<min(attempt, 16), 500*time.Millisecond)
	return time.Duration(rand.Int64N(int64(ceiling))) + time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
