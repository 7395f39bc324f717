// Package s3blob implements store.Blobs on one S3 bucket.
//
// Every Put asks for server-side encryption: SSE-S3 (AES256) by default,
// SSE-KMS when Store.KMSKeyID is set. Objects uploaded through PresignPut
// URLs get the bucket's default encryption (the URL does not sign an
// encryption header, so clients need not send one).
//
// Keys are checked like the embedded store's (characters [A-Za-z0-9._/-],
// no empty, "." or ".." segments), so that a key accepted here is accepted
// by the local server too.
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/store/ident"
)

// deleteBatch is the most keys one DeleteObjects call takes.
const deleteBatch = 1000

// Store is a store.Blobs on one S3 bucket.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
	// KMSKeyID, when set, encrypts objects with SSE-KMS under this key
	// (id, ARN or alias) instead of SSE-S3.
	KMSKeyID string
}

var _ store.Blobs = (*Store)(nil)

// New returns a Store on bucket, which must exist (see CreateBucket).
func New(client *s3.Client, bucket string) *Store {
	return &Store{client: client, presign: s3.NewPresignClient(client), bucket: bucket}
}

// WithEndpoint returns a client option for an S3-compatible server at
// endpoint (such as moto's "http://127.0.0.1:5000"): requests go there
// with path-style addressing ("<endpoint>/<bucket>/<key>").
func WithEndpoint(endpoint string) func(*s3.Options) {
	return func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	}
}

// Put stores data under key, encrypted at rest.
func (s *Store) Put(ctx context.Context, key string, data []byte, contentType string) error {
	if err := ident.CheckKey(key); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data), // seekable: the SDK rewinds it to sign and retry
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(contentType),
	}
	if s.KMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(s.KMSKeyID)
	} else {
		in.ServerSideEncryption = types.ServerSideEncryptionAes256
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	return nil
}

// Get returns the object under key and its content type.
func (s *Store) Get(ctx context.Context, key string) ([]byte, string, error) {
	if err := ident.CheckKey(key); err != nil {
		return nil, "", fmt.Errorf("get blob: %w (%w)", store.ErrNotFound, err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		if isNotFound(err) {
			return nil, "", fmt.Errorf("get blob %s: %w", key, store.ErrNotFound)
		}
		return nil, "", fmt.Errorf("get blob %s: %w", key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 {
		buf.Grow(int(n))
	}
	if _, err := io.Copy(&buf, out.Body); err != nil {
		return nil, "", fmt.Errorf("get blob %s: read: %w", key, err)
	}
	return buf.Bytes(), aws.ToString(out.ContentType), nil
}

// Delete removes the object under key; an absent key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ident.CheckKey(key); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// DeletePrefix removes every object whose key starts with prefix, one
// listing page (at most 1,000 keys) per DeleteObjects call. The prefix may
// not be empty: that would empty the bucket.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := ident.CheckPrefix(prefix); err != nil {
		return fmt.Errorf("delete blobs: %w", err)
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket:  aws.String(s.bucket),
		Prefix:  aws.String(prefix),
		MaxKeys: aws.Int32(deleteBatch),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("delete blobs %s*: list: %w", prefix, err)
		}
		ids := make([]types.ObjectIdentifier, 0, len(page.Contents))
		for _, obj := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: obj.Key})
		}
		for len(ids) > 0 {
			n := min(len(ids), deleteBatch)
			if err := s.deleteObjects(ctx, ids[:n]); err != nil {
				return fmt.Errorf("delete blobs %s*: %w", prefix, err)
			}
			ids = ids[n:]
		}
	}
	return nil
}

func (s *Store) deleteObjects(ctx context.Context, ids []types.ObjectIdentifier) error {
	out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(s.bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("delete objects: %w", err)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		return fmt.Errorf("delete objects: %d failed, first %s: %s %s",
			len(out.Errors), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
	}
	return nil
}

// PresignPut returns a URL that accepts one PUT of an object under key
// until ttl has passed. The client must send the same Content-Type header
// (it is signed). maxBytes cannot be enforced by a presigned PUT (S3 only
// checks an exact signed Content-Length): whoever consumes the upload must
// check its size.
func (s *Store) PresignPut(ctx context.Context, key, contentType string, maxBytes int64, ttl time.Duration) (string, error) {
	if err := ident.CheckKey(key); err != nil {
		return "", fmt.Errorf("presign put: %w", err)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("presign put %s: ttl %v is not positive", key, ttl)
	}
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	req, err := s.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign put %s: %w", key, err)
	}
	return req.URL, nil
}

// PresignGet returns a URL that GETs the object at key until ttl has passed.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ident.CheckKey(key); err != nil {
		return "", fmt.Errorf("presign get: %w", err)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("presign get %s: ttl %v is not positive", key, ttl)
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign get %s: %w", key, err)
	}
	return req.URL, nil
}

// Ping checks the bucket answers.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		return fmt.Errorf("ping s3 bucket %s: %w", s.bucket, err)
	}
	return nil
}

// isNotFound reports whether err says the key (or object) does not exist.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound") {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound &&
		!isCode(err, "NoSuchBucket")
}

func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}

// Size reports an object's size (HeadObject) without reading it.
func (s *Store) Size(ctx context.Context, key string) (int64, error) {
	if err := ident.CheckKey(key); err != nil {
		return 0, fmt.Errorf("size of blob: %w (%w)", store.ErrNotFound, err)
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) {
			return 0, fmt.Errorf("size of blob %s: %w", key, store.ErrNotFound)
		}
		return 0, fmt.Errorf("size of blob %s: %w", key, err)
	}
	return aws.ToInt64(out.ContentLength), nil
}
