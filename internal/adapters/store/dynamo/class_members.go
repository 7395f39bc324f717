package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// membershipItem is a class id's membership in a gallery incarnation.
type membershipItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	ClassID uint64 `dynamodbav:"classId"`
}

// memberOfItem is the reverse of a membership, in the class id's
// partition.
type memberOfItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Gallery string `dynamodbav:"gallery"`
	Inc     string `dynamodbav:"inc"`
}

func membersPK(tenant, name, inc string) string {
	return pkTenant + tenant + pkMembers + name + "#" + inc
}
func memberSK(id uint64) string { return fmt.Sprintf("%s%020d", skMemberPfx, id) }

func parseMemberSK(sk string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimPrefix(sk, skMemberPfx), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("membership key %q: %w", sk, err)
	}
	return id, nil
}

// memberOf returns the "member of" items of a class id.
func (s *Store) memberOf(ctx context.Context, tenant string, classID uint64) ([]memberOfItem, error) {
	items, err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :pfx)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  str(classPK(tenant, classID)),
			":pfx": str(skMemberOfPfx),
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("query galleries of class: %w", err)
	}
	refs := make([]memberOfItem, len(items))
	for i, raw := range items {
		if err := attributevalue.UnmarshalMap(raw, &refs[i]); err != nil {
			return nil, fmt.Errorf("unmarshal member of: %w", err)
		}
	}
	return refs, nil
}

// dropMembership removes the membership ref stands for: with the
// gallery's count and version when the gallery (that incarnation) and the
// membership exist, else whatever is left of it.
func (s *Store) dropMembership(ctx context.Context, tenant string, classID uint64, ref memberOfItem) error {
	mk := key(membersPK(tenant, ref.Gallery, ref.Inc), memberSK(classID))
	rk := key(ref.PK, ref.SK)
	var err error
	for attempt := range membersAttempts {
		if attempt > 0 {
			if serr := sleep(ctx, backoff(attempt)); serr != nil {
				return errors.Join(err, serr)
			}
		}
		_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: []types.TransactWriteItem{
				{Delete: &types.Delete{
					TableName:           aws.String(s.table),
					Key:                 mk,
					ConditionExpression: aws.String("attribute_exists(pk)"),
				}},
				{Delete: &types.Delete{TableName: aws.String(s.table), Key: rk}},
				{Update: s.galleryUpdate(tenant, ref.Gallery, ref.Inc, -1)},
			},
		})
		if err == nil {
			return nil
		}
		if isConflict(err) {
			continue
		}
		switch {
		case canceledAt(err, 2, conditionFailed):
			// The gallery is gone, or is another incarnation: the
			// membership is a leftover of it.
			_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
				TransactItems: []types.TransactWriteItem{
					{Delete: &types.Delete{TableName: aws.String(s.table), Key: mk}},
					{Delete: &types.Delete{TableName: aws.String(s.table), Key: rk}},
				},
			})
		case canceledAt(err, 0, conditionFailed):
			// The membership is gone: drop the reverse item, unless the
			// membership comes back meanwhile.
			_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
				TransactItems: []types.TransactWriteItem{
					{ConditionCheck: &types.ConditionCheck{
						TableName:           aws.String(s.table),
						Key:                 mk,
						ConditionExpression: aws.String("attribute_not_exists(pk)"),
					}},
					{Delete: &types.Delete{TableName: aws.String(s.table), Key: rk}},
				},
			})
			if canceledBy(err, conditionFailed) {
				continue
			}
		default:
			return err
		}
		if err == nil || !isConflict(err) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d attempts: %w", membersAttempts, err)
}

// AddMembers adds class ids to a gallery.
func (s *Store) AddMembers(ctx context.Context, tenant, name string, classIDs []uint64) (store.Gallery, error) {
	return s.changeMembers(ctx, "add members", tenant, name, classIDs, true)
}

// RemoveMembers removes class ids from a gallery.
func (s *Store) RemoveMembers(ctx context.Context, tenant, name string, classIDs []uint64) (store.Gallery, error) {
	return s.changeMembers(ctx, "remove members", tenant, name, classIDs, false)
}

// changeMembers adds (add) or removes ids: it reads the gallery and which
// ids are members, writes the changes in transactions, and starts over
// when one of them lost a race.
func (s *Store) changeMembers(ctx context.Context, what, tenant, name string, classIDs []uint64, add bool) (store.Gallery, error) {
	if err := store.CheckRead(what, "tenant", tenant, "gallery name", name); err != nil {
		return store.Gallery{}, err
	}
	ids, err := ident.UniqueClassIDs(classIDs)
	if err != nil {
		return store.Gallery{}, fmt.Errorf("%s %s/%s: %w", what, tenant, name, err)
	}
	var lost error
	for attempt := range membersAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return store.Gallery{}, fmt.Errorf("%s %s/%s: %w", what, tenant, name, errors.Join(lost, err))
			}
		}
		g, ok, err := s.getGallery(ctx, tenant, name)
		if err != nil {
			return store.Gallery{}, fmt.Errorf("%s %s/%s: %w", what, tenant, name, err)
		}
		if !ok {
			return store.Gallery{}, notFound("gallery", tenant, name)
		}
		members, err := s.members(ctx, membersPK(tenant, name, g.Inc), ids)
		if err != nil {
			return store.Gallery{}, fmt.Errorf("%s %s/%s: %w", what, tenant, name, err)
		}
		var todo []uint64
		for _, id := range ids {
			if members[id] != add {
				todo = append(todo, id)
			}
		}
		if len(todo) == 0 {
			return g.gallery(), nil
		}
		lost = nil
		for chunk := range slices.Chunk(todo, membersPerTx) {
			err := s.membersTx(ctx, tenant, name, g.Inc, chunk, add)
			if isConflict(err) || canceledBy(err, conditionFailed) {
				lost = err
				break
			}
			if err != nil {
				return store.Gallery{}, fmt.Errorf("%s %s/%s: %w", what, tenant, name, err)
			}
		}
		if lost != nil {
			continue
		}
		g, ok, err = s.getGallery(ctx, tenant, name)
		if err != nil {
			return store.Gallery{}, fmt.Errorf("%s %s/%s: %w", what, tenant, name, err)
		}
		if !ok {
			return store.Gallery{}, notFound("gallery", tenant, name)
		}
		return g.gallery(), nil
	}
	return store.Gallery{}, fmt.Errorf("%s %s/%s: gave up after %d attempts: %w", what, tenant, name, membersAttempts, lost)
}

// membersTx adds (add) or removes ids, at most membersPerTx of them, in
// one transaction with the gallery's count and version.
func (s *Store) membersTx(ctx context.Context, tenant, name, inc string, ids []uint64, add bool) error {
	delta := len(ids)
	if !add {
		delta = -delta
	}
	items := make([]types.TransactWriteItem, 0, 1+2*len(ids))
	items = append(items, types.TransactWriteItem{Update: s.galleryUpdate(tenant, name, inc, delta)})
	pk := membersPK(tenant, name, inc)
	for _, id := range ids {
		if !add {
			items = append(items,
				types.TransactWriteItem{Delete: &types.Delete{
					TableName:           aws.String(s.table),
					Key:                 key(pk, memberSK(id)),
					ConditionExpression: aws.String("attribute_exists(pk)"),
				}},
				types.TransactWriteItem{Delete: &types.Delete{
					TableName: aws.String(s.table),
					Key:       key(classPK(tenant, id), memberOfSK(name, inc)),
				}},
			)
			continue
		}
		m, err := attributevalue.MarshalMap(membershipItem{PK: pk, SK: memberSK(id), ClassID: id})
		if err != nil {
			return fmt.Errorf("marshal membership: %w", err)
		}
		r, err := attributevalue.MarshalMap(memberOfItem{
			PK: classPK(tenant, id), SK: memberOfSK(name, inc), Gallery: name, Inc: inc,
		})
		if err != nil {
			return fmt.Errorf("marshal member of: %w", err)
		}
		items = append(items,
			types.TransactWriteItem{Put: &types.Put{
				TableName:           aws.String(s.table),
				Item:                m,
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}},
			types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: r}},
		)
	}
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}

// members returns which of ids have a membership item in the partition pk
// (BatchGetItem, consistent).
func (s *Store) members(ctx context.Context, pk string, ids []uint64) (map[uint64]bool, error) {
	found := make(map[uint64]bool, len(ids))
	for chunk := range slices.Chunk(ids, batchGetLimit) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = key(pk, memberSK(id))
		}
		items, err := s.batchGet(ctx, keys, "pk, sk")
		if err != nil {
			return nil, err
		}
		for _, raw := range items {
			var m membershipItem
			if err := attributevalue.UnmarshalMap(raw, &m); err != nil {
				return nil, fmt.Errorf("unmarshal membership: %w", err)
			}
			id, err := parseMemberSK(m.SK)
			if err != nil {
				return nil, err
			}
			found[id] = true
		}
	}
	return found, nil
}

// Members pages through a gallery's class ids in ascending order.
func (s *Store) Members(ctx context.Context, tenant, name string, after uint64, limit int) ([]uint64, uint64, error) {
	if err := store.CheckRead("members", "tenant", tenant, "gallery name", name); err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = ident.DefaultMembersLimit
	}
	limit = min(limit, math.MaxInt32-1)
	g, ok, err := s.getGallery(ctx, tenant, name)
	if err != nil {
		return nil, 0, fmt.Errorf("members %s/%s: %w", tenant, name, err)
	}
	if !ok {
		return nil, 0, notFound("gallery", tenant, name)
	}
	ids := []uint64{}
	if after == math.MaxUint64 {
		return ids, 0, nil
	}
	// One more than asked for tells whether this is the last page.
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND sk > :after"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":    str(membersPK(tenant, name, g.Inc)),
			":after": str(memberSK(after)),
		},
		ProjectionExpression: aws.String("sk"),
		ConsistentRead:       aws.Bool(true),
	}
	for {
		in.Limit = aws.Int32(int32(limit + 1 - len(ids)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, 0, fmt.Errorf("members %s/%s: %w", tenant, name, err)
		}
		for _, raw := range out.Items {
			var m membershipItem
			if err := attributevalue.UnmarshalMap(raw, &m); err != nil {
				return nil, 0, fmt.Errorf("members %s/%s: unmarshal: %w", tenant, name, err)
			}
			id, err := parseMemberSK(m.SK)
			if err != nil {
				return nil, 0, fmt.Errorf("members %s/%s: %w", tenant, name, err)
			}
			ids = append(ids, id)
		}
		if len(ids) > limit || out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(ids) > limit {
		return ids[:limit], ids[limit-1], nil
	}
	return ids, 0, nil
}

// GalleriesOf lists the galleries a class id belongs to, sorted by name:
// those of its "member of" items whose gallery exists as the same
// incarnation.
func (s *Store) GalleriesOf(ctx context.Context, tenant string, classID uint64) ([]string, error) {
	if err := store.CheckClassRead("galleries of", tenant, classID); err != nil {
		return nil, err
	}
	refs, err := s.memberOf(ctx, tenant, classID)
	if err != nil {
		return nil, fmt.Errorf("galleries of %s/%d: %w", tenant, classID, err)
	}
	seen := map[string]bool{}
	var keys []map[string]types.AttributeValue
	for _, ref := range refs {
		if !seen[ref.Gallery] {
			seen[ref.Gallery] = true
			keys = append(keys, key(galleriesPK(tenant), gallerySK(ref.Gallery)))
		}
	}
	live := map[string]string{} // name → incarnation
	for chunk := range slices.Chunk(keys, batchGetLimit) {
		items, err := s.batchGet(ctx, chunk, "sk, inc")
		if err != nil {
			return nil, fmt.Errorf("galleries of %s/%d: %w", tenant, classID, err)
		}
		for _, raw := range items {
			var it galleryItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("galleries of %s/%d: unmarshal: %w", tenant, classID, err)
			}
			live[strings.TrimPrefix(it.SK, skGalleryPfx)] = it.Inc
		}
	}
	names := []string{}
	for _, ref := range refs {
		if inc, ok := live[ref.Gallery]; ok && inc == ref.Inc {
			names = append(names, ref.Gallery)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
