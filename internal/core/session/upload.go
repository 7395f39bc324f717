package session

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/uid"
)

// uploadClaimTTL is how long the claim of a consumed upload is kept: as
// long as the bucket keeps an unconsumed upload (template.yaml).
const uploadClaimTTL = 48 * time.Hour

// Upload is a presigned upload slot for an image too large for a
// synchronous request.
type Upload struct {
	Key      string            `json:"key"`
	URL      string            `json:"url"`
	Method   string            `json:"method"`
	Headers  map[string]string `json:"headers"`
	MaxBytes int64             `json:"maxBytes"`
	Expires  time.Time         `json:"expires"`
}

// CreateUpload returns a presigned PUT of one image of contentType
// (default image/jpeg) under a new key of the tenant's.
func (s *Service) CreateUpload(ctx context.Context, tenant, contentType string) (*Upload, error) {
	switch contentType {
	case "":
		contentType = "image/jpeg"
	case "image/jpeg", "image/png", "image/webp", "image/gif":
	default:
		return nil, fault.New(fault.CodeUnsupportedMedia, "contentType must be image/jpeg, image/png, image/webp or image/gif")
	}
	key := uploadPrefix(tenant) + uid.New()
	u, err := s.Blobs.PresignPut(ctx, key, contentType, int64(s.MaxImageBytes), s.UploadTTL)
	if err != nil {
		return nil, err
	}
	return &Upload{Key: key, URL: u, Method: "PUT", Headers: map[string]string{"Content-Type": contentType},
		MaxBytes: int64(s.MaxImageBytes), Expires: s.now().Add(s.UploadTTL)}, nil
}

// fetchUpload reads an uploaded image; another tenant's key is not found.
// An upload serves one request: the first to claim it (atomically, in the
// records store) consumes it, whatever the outcome, and every other use
// of the key gets UPLOAD_ALREADY_USED.
func (s *Service) fetchUpload(ctx context.Context, tenant, key string) ([]byte, error) {
	if !strings.HasPrefix(key, uploadPrefix(tenant)) || store.CheckBlobKey(key) != nil {
		return nil, fault.New(fault.CodeNotFound, "upload not found")
	}
	if err := s.Records.Claim(ctx, tenant, key, s.now().Add(uploadClaimTTL)); errors.Is(err, store.ErrExists) {
		return nil, fault.New(fault.CodeUploadUsed, "the upload was already used: an upload serves one request; create a new one")
	} else if err != nil {
		return nil, err
	}
	defer func() { _ = s.Blobs.Delete(context.WithoutCancel(ctx), key) }() // consumed
	// A presigned PUT cannot limit the size: check it before reading.
	sizer, ok := s.Blobs.(store.Sizer)
	if !ok {
		return nil, errors.New("blob store cannot report sizes")
	}
	n, err := sizer.Size(ctx, key)
	if err != nil {
		return nil, storeError(err, "upload")
	}
	if n > int64(s.MaxImageBytes) {
		_ = s.Blobs.Delete(ctx, key)
		return nil, fault.Newf(fault.CodeImageTooLarge, "upload is %d bytes; at most %d", n, s.MaxImageBytes)
	}
	b, _, err := s.Blobs.Get(ctx, key)
	if err != nil {
		return nil, storeError(err, "upload")
	}
	if len(b) > s.MaxImageBytes {
		return nil, fault.Newf(fault.CodeImageTooLarge, "upload exceeds %d bytes", s.MaxImageBytes)
	}
	return b, nil
}

// uploadPrefix is the blob-key prefix of a tenant's uploads (expired by the
// bucket's lifecycle rule when not consumed).
func uploadPrefix(tenant string) string { return "uploads/" + tenant + "/" }
