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
	"fmt"
	"maps"
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

func classPK(tenant string, id uint64) string {
	return pkTenant + tenant + pkClass + strconv.FormatUint(id, 10)
}
func memberOfSK(name, inc string) string { return skMemberOfPfx + name + "#" + inc }

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

// GetClass returns a class.
func (s *Store) GetClass(ctx context.Context, tenant string, classID uint64) (store.Class, error) {
	if err := store.CheckClassRead("get class", tenant, classID); err != nil {
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
	if err := store.CheckClassRead("delete class", tenant, classID); err != nil {
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
