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
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/facelambda/facelambda/internal/core/store"
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

// live reports whether an item expiring at expires (unix nanoseconds) is
// still live.
func (s *Store) live(expires int64) bool { return expires > s.now().UnixNano() }

// Ping checks the table answers.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)}); err != nil {
		return fmt.Errorf("ping dynamodb table %s: %w", s.table, err)
	}
	return nil
}
