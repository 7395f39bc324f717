package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

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

func faceSK(id string) string { return skFacePfx + id }

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
	if err := store.CheckRead("get face", "tenant", tenant, "session id", sessionID, "face id", faceID); err != nil {
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
	if err := store.CheckRead("list faces", "tenant", tenant, "session id", sessionID); err != nil {
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
	if err := store.CheckRead("delete face", "tenant", tenant, "session id", sessionID, "face id", faceID); err != nil {
		return err
	}
	old, err := s.deleteOld(ctx, key(sessionPK(tenant, sessionID), faceSK(faceID)))
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
	if err := store.CheckRead("delete faces", "tenant", tenant, "session id", sessionID); err != nil {
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
