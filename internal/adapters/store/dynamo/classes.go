package dynamo

// store.Classes on the records' table.
//
// Key design (ids in partition keys are decimal, in sort keys zero-padded
// to 20 digits so that string order is numeric order):
//
//	class       pk = "T#<tenant>#C#<class id>"             sk = "CLASS"
//	member of   pk = "T#<tenant>#C#<class id>"             sk = "G#<gallery>#<inc>"
//	gallery     pk = "T#<tenant>#GALLERIES"                sk = "G#<gallery>"
//	membership  pk = "T#<tenant>#G#<gallery>#<inc>"        sk = "M#<class id, 20 digits>"
//
// The galleries of a tenant share a partition, so ListGalleries is one
// Query, in name order. A gallery item holds the member count ("members"),
// the version, and its incarnation ("inc"), a random token drawn by
// CreateGallery: memberships live in a partition of their own per
// incarnation, and each has a reverse "member of" item in its class id's
// partition (for GalleriesOf and erasure). A gallery deleted and created
// again under the same name thus starts empty even if the cleanup of the
// old one was cut short: what is left of it is unreachable (GalleriesOf
// ignores "member of" items of another incarnation than the gallery's),
// and DeleteClass erases it all the same.
//
// DeleteGallery leaves a tombstone of the gallery item ("deleted", the
// version one up, no incarnation, no description), which reads skip; a
// gallery created again under the name takes the version after it, so the
// versions of a name never repeat and a cache keyed on the version never
// serves the matrix of a deleted gallery for a new one. Tombstones hold no
// member and no personal data.
//
// AddMembers and RemoveMembers read the gallery and which of the ids are
// members (BatchGetItem), then write the changes in transactions of at most
// 49 ids: the gallery's update (version + 1, count ± n, on condition that
// the gallery exists with the same incarnation), and for each id its
// membership item (on condition it is absent, or present, to remove it)
// and its "member of" item. Every transaction keeps the count exact; one
// that fails its conditions (a concurrent change of the same ids) or a
// transaction conflict makes the call start over from the reads, so
// nothing is applied twice. A call changing more than 49 ids bumps the
// version once per transaction and is not atomic as a whole.
//
// PutClass is one conditional UpdateItem on the class item's "version".
// Each write stores a random token ("write"): when the condition fails, a
// read of the token tells whether the write did happen after all (a retry
// by the SDK of a write whose answer was lost) rather than reporting a
// conflict for the caller's own write.
//
// DeleteClass turns the class item into a tombstone ("deleted", the
// version kept, every other attribute removed, expiring after
// tombstoneTTL) and returns what it held, in one conditional UpdateItem; a
// class created again under the id starts above the tombstone's version,
// so a writer holding a version of the deleted class cannot overwrite the
// new one (the versions of an id do not repeat). It then removes, for each
// "member of" item, the
// membership, its "member of" item and the gallery's count and version in
// one transaction. DeleteGallery turns the gallery item into its
// tombstone, then deletes its memberships and their "member of" items
// (BatchWriteItem): membership writes condition on the gallery item's
// incarnation, so none can commit after that.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

const (
	pkClass       = "#C#"
	skClass       = "CLASS"
	skMemberOfPfx = "G#"
	pkGalleries   = "#GALLERIES"
	skGalleryPfx  = "G#"
	pkMembers     = "#G#"
	skMemberPfx   = "M#"

	// membersPerTx is the ids per membership transaction: with the
	// gallery's update, two items each make at most 99 of the 100 a
	// transaction may hold.
	membersPerTx = 49
	// batchGetLimit is the keys per BatchGetItem.
	batchGetLimit = 100
	// membersAttempts bounds the restarts of a membership change that
	// lost a race with another one on the same gallery.
	membersAttempts = 30
)

var _ store.Classes = (*Store)(nil)

// classItem is a class's item.
type classItem struct {
	PK         string   `dynamodbav:"pk"`
	SK         string   `dynamodbav:"sk"`
	Tenant     string   `dynamodbav:"tenant"`
	ClassID    uint64   `dynamodbav:"classId"`
	Version    int64    `dynamodbav:"version"`
	Encoder    string   `dynamodbav:"encoder,omitempty"`
	Vectors    int      `dynamodbav:"vectors"`
	Enrolled   int      `dynamodbav:"enrolled"`
	Tags       []string `dynamodbav:"tags,omitempty"`
	Thumbnails []string `dynamodbav:"thumbnails,omitempty"`
	Sealed     []byte   `dynamodbav:"sealed,omitempty"`
	Created    int64    `dynamodbav:"created"`
	Updated    int64    `dynamodbav:"updated"`
	// Write is the token of the write that stored this version.
	Write string `dynamodbav:"write"`
	// Deleted marks the tombstone DeleteClass leaves: it keeps the last
	// version, so that a class created again under the id starts above it
	// and a writer holding a version of the deleted class cannot
	// overwrite the new one.
	Deleted bool `dynamodbav:"deleted,omitempty"`
}

// tombstoneTTL is how long a class tombstone is kept (then DynamoDB's TTL
// deletes it): far longer than any read-modify-write of a class takes.
const tombstoneTTL = 30 * 24 * time.Hour

// classOptional lists the attributes of a class item that are absent when
// empty (removed by an update that empties them).
var classOptional = []string{"encoder", "tags", "thumbnails", "sealed"}

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

func classPK(tenant string, id uint64) string {
	return pkTenant + tenant + pkClass + strconv.FormatUint(id, 10)
}
func memberOfSK(name, inc string) string { return skMemberOfPfx + name + "#" + inc }
func galleriesPK(tenant string) string   { return pkTenant + tenant + pkGalleries }
func gallerySK(name string) string       { return skGalleryPfx + name }
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

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func (it classItem) class() store.Class {
	return store.Class{
		Tenant:     it.Tenant,
		ClassID:    it.ClassID,
		Version:    it.Version,
		Encoder:    it.Encoder,
		Vectors:    it.Vectors,
		Enrolled:   it.Enrolled,
		Tags:       it.Tags,
		Thumbnails: it.Thumbnails,
		Sealed:     it.Sealed,
		Created:    fromNanos(it.Created),
		Updated:    fromNanos(it.Updated),
	}
}

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

// checkClassRead validates the identifiers of a read of a class: invalid
// ones name no class.
func checkClassRead(what, tenant string, id uint64) error {
	if err := checkRead(what, "tenant", tenant); err != nil {
		return err
	}
	if err := ident.CheckClassID(id); err != nil {
		return fmt.Errorf("%s: %w (%w)", what, store.ErrNotFound, err)
	}
	return nil
}

// uniqueIDs returns the distinct ids, sorted, or an error for an id 0.
func uniqueIDs(ids []uint64) ([]uint64, error) {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 {
		if err := ident.CheckClassID(out[0]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// canceledBy reports whether err is a transaction cancelled because of
// code on any of its items.
func canceledBy(err error, code string) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	for _, r := range tce.CancellationReasons {
		if reasonCode(r) == code {
			return true
		}
	}
	return false
}

// canceledAt reports whether err is a transaction cancelled because of
// code on its item i.
func canceledAt(err error, i int, code string) bool {
	var tce *types.TransactionCanceledException
	return errors.As(err, &tce) && i < len(tce.CancellationReasons) && reasonCode(tce.CancellationReasons[i]) == code
}

const conditionFailed = "ConditionalCheckFailed"

// GetClass returns a class.
func (s *Store) GetClass(ctx context.Context, tenant string, classID uint64) (store.Class, error) {
	if err := checkClassRead("get class", tenant, classID); err != nil {
		return store.Class{}, err
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(classPK(tenant, classID), skClass),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Class{}, fmt.Errorf("get class %s/%d: %w", tenant, classID, err)
	}
	if out.Item == nil {
		return store.Class{}, notFound("class", tenant, strconv.FormatUint(classID, 10))
	}
	var it classItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return store.Class{}, fmt.Errorf("get class %s/%d: unmarshal: %w", tenant, classID, err)
	}
	if it.Deleted {
		return store.Class{}, notFound("class", tenant, strconv.FormatUint(classID, 10))
	}
	return it.class(), nil
}

// PutClass writes a class if its stored version is c.Version (0: absent),
// in one conditional UpdateItem.
func (s *Store) PutClass(ctx context.Context, c store.Class) (store.Class, error) {
	if err := ident.Check("tenant", c.Tenant); err != nil {
		return store.Class{}, fmt.Errorf("put class: %w", err)
	}
	if err := ident.CheckClassID(c.ClassID); err != nil {
		return store.Class{}, fmt.Errorf("put class: %w", err)
	}
	if err := ident.CheckClassSize(ident.ClassSize(c.Encoder, c.Sealed, c.Tags, c.Thumbnails)); err != nil {
		return store.Class{}, fmt.Errorf("put class %s/%d: %w", c.Tenant, c.ClassID, err)
	}
	now := s.now()
	out := c
	out.Version = c.Version + 1
	if out.Updated.IsZero() {
		out.Updated = now
	}
	out.Updated = fromNanos(out.Updated.UnixNano())
	if out.Created.IsZero() {
		out.Created = now
	}
	out.Created = fromNanos(out.Created.UnixNano())
	token := rand.Text()
	item, err := attributevalue.MarshalMap(classItem{
		Tenant:     c.Tenant,
		ClassID:    c.ClassID,
		Version:    out.Version,
		Encoder:    c.Encoder,
		Vectors:    c.Vectors,
		Enrolled:   c.Enrolled,
		Tags:       c.Tags,
		Thumbnails: c.Thumbnails,
		Sealed:     c.Sealed,
		Created:    out.Created.UnixNano(),
		Updated:    out.Updated.UnixNano(),
		Write:      token,
	})
	if err != nil {
		return store.Class{}, fmt.Errorf("put class %s/%d: marshal: %w", c.Tenant, c.ClassID, err)
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var set, remove []string
	for _, a := range slices.Sorted(maps.Keys(item)) {
		switch a {
		case attrPK, attrSK:
			continue
		case "created":
			set = append(set, "#created = if_not_exists(#created, :created)")
		case "version":
			if c.Version == 0 { // above a tombstone's version, or 1
				set = append(set, "#version = if_not_exists(#version, :zero) + :one")
				names["#"+a] = a
				values[":zero"], values[":one"] = num(0), num(1)
				continue
			}
			set = append(set, "#version = :version")
		case "deleted":
			continue
		default:
			set = append(set, "#"+a+" = :"+a)
		}
		names["#"+a] = a
		values[":"+a] = item[a]
	}
	for _, a := range classOptional {
		if _, ok := item[a]; !ok {
			names["#"+a] = a
			remove = append(remove, "#"+a)
		}
	}
	names["#deleted"], names["#ttl"] = "deleted", attrExpiresAt
	remove = append(remove, "#deleted", "#ttl")
	update := "SET " + strings.Join(set, ", ") + " REMOVE " + strings.Join(remove, ", ")
	cond := "attribute_not_exists(pk) OR attribute_exists(#deleted)"
	if c.Version != 0 {
		cond = "#version = :expected AND attribute_not_exists(#deleted)"
		values[":expected"] = num(c.Version)
	}
	k := key(classPK(c.Tenant, c.ClassID), skClass)
	var res *dynamodb.UpdateItemOutput
	err = retryConflict(ctx, func() error {
		var err error
		res, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       k,
			UpdateExpression:          aws.String(update),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
			ReturnValues:              types.ReturnValueUpdatedNew,
		})
		return err
	})
	var created int64
	switch {
	case err == nil:
		if err := attributevalue.Unmarshal(res.Attributes["created"], &created); err != nil {
			return store.Class{}, fmt.Errorf("put class %s/%d: unmarshal created: %w", c.Tenant, c.ClassID, err)
		}
		if err := attributevalue.Unmarshal(res.Attributes["version"], &out.Version); err != nil {
			return store.Class{}, fmt.Errorf("put class %s/%d: unmarshal version: %w", c.Tenant, c.ClassID, err)
		}
	case isConditionFailed(err):
		// Unless the write that failed the condition was this one, retried
		// by the SDK after its answer was lost.
		var ok bool
		created, out.Version, ok, err = s.wroteClass(ctx, k, token)
		if err != nil {
			return store.Class{}, fmt.Errorf("put class %s/%d: %w", c.Tenant, c.ClassID, err)
		}
		if !ok {
			return store.Class{}, fmt.Errorf("put class %s/%d: version %d is not the stored one: %w",
				c.Tenant, c.ClassID, c.Version, store.ErrConflict)
		}
	default:
		return store.Class{}, fmt.Errorf("put class %s/%d: %w", c.Tenant, c.ClassID, err)
	}
	out.Created = fromNanos(created)
	return out, nil
}

// wroteClass reports whether the class item at k was written with token,
// and its creation time and version if so.
func (s *Store) wroteClass(ctx context.Context, k map[string]types.AttributeValue, token string) (int64, int64, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      k,
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#write, #created, #version"),
		ExpressionAttributeNames: map[string]string{"#write": "write", "#created": "created", "#version": "version"},
	})
	if err != nil || out.Item == nil {
		return 0, 0, false, err
	}
	var it struct {
		Write   string `dynamodbav:"write"`
		Created int64  `dynamodbav:"created"`
		Version int64  `dynamodbav:"version"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return 0, 0, false, fmt.Errorf("unmarshal class: %w", err)
	}
	return it.Created, it.Version, it.Write == token, nil
}

// DeleteClass deletes the class item (returning it), then every
// membership of the class id (even when the class item was absent: ids
// need not be enrolled).
func (s *Store) DeleteClass(ctx context.Context, tenant string, classID uint64) (store.Class, error) {
	if err := checkClassRead("delete class", tenant, classID); err != nil {
		return store.Class{}, err
	}
	pk := classPK(tenant, classID)
	var old map[string]types.AttributeValue
	err := retryConflict(ctx, func() error {
		// A tombstone keeps the version (see classItem.Deleted).
		out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table),
			Key:       key(pk, skClass),
			UpdateExpression: aws.String("SET #deleted = :true, #ttl = :ttl REMOVE #encoder, #vectors, #enrolled, #tags, " +
				"#thumbnails, #sealed, #created, #updated, #write"),
			ConditionExpression: aws.String("attribute_exists(pk) AND attribute_not_exists(#deleted)"),
			ExpressionAttributeNames: map[string]string{"#deleted": "deleted", "#encoder": "encoder",
				"#vectors": "vectors", "#enrolled": "enrolled", "#tags": "tags", "#thumbnails": "thumbnails",
				"#sealed": "sealed", "#created": "created", "#updated": "updated", "#write": "write", "#ttl": attrExpiresAt},
			ExpressionAttributeValues: map[string]types.AttributeValue{":true": &types.AttributeValueMemberBOOL{Value: true},
				":ttl": num(ttlSeconds(s.now().Add(tombstoneTTL)))},
			ReturnValues: types.ReturnValueAllOld,
		})
		if err == nil {
			old = out.Attributes
		}
		return err
	})
	if err != nil && !isConditionFailed(err) {
		return store.Class{}, fmt.Errorf("delete class %s/%d: %w", tenant, classID, err)
	}
	var deleted store.Class
	if old != nil {
		var it classItem
		if err := attributevalue.UnmarshalMap(old, &it); err != nil {
			return store.Class{}, fmt.Errorf("delete class %s/%d: unmarshal: %w", tenant, classID, err)
		}
		deleted = it.class()
	}
	refs, err := s.memberOf(ctx, tenant, classID)
	if err != nil {
		return store.Class{}, fmt.Errorf("delete class %s/%d: %w", tenant, classID, err)
	}
	for _, ref := range refs {
		if err := s.dropMembership(ctx, tenant, classID, ref); err != nil {
			return store.Class{}, fmt.Errorf("delete class %s/%d: gallery %s: %w", tenant, classID, ref.Gallery, err)
		}
	}
	if old == nil {
		return store.Class{}, notFound("class", tenant, strconv.FormatUint(classID, 10))
	}
	return deleted, nil
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
	if err := checkRead("get gallery", "tenant", tenant, "gallery name", name); err != nil {
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
	if err := checkRead("list galleries", "tenant", tenant); err != nil {
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
	if err := checkRead("delete gallery", "tenant", tenant, "gallery name", name); err != nil {
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
	if err := checkRead(what, "tenant", tenant, "gallery name", name); err != nil {
		return store.Gallery{}, err
	}
	ids, err := uniqueIDs(classIDs)
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

// batchGet reads the items of at most batchGetLimit keys (consistent,
// projected), retrying unprocessed keys with backoff.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, projection string) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	req := map[string]types.KeysAndAttributes{s.table: {
		Keys:                 keys,
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String(projection),
	}}
	for attempt := 0; len(req) > 0 && len(req[s.table].Keys) > 0; attempt++ {
		if attempt > 0 {
			if attempt >= 2*maxAttempts {
				return nil, fmt.Errorf("batch get: %d keys still unprocessed after %d attempts", len(req[s.table].Keys), attempt)
			}
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
		}
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("batch get: %w", err)
		}
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
	}
	return items, nil
}

// Members pages through a gallery's class ids in ascending order.
func (s *Store) Members(ctx context.Context, tenant, name string, after uint64, limit int) ([]uint64, uint64, error) {
	if err := checkRead("members", "tenant", tenant, "gallery name", name); err != nil {
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
	if err := checkClassRead("galleries of", tenant, classID); err != nil {
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

// queryAll runs a query to its end.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
	}
	return items, nil
}
