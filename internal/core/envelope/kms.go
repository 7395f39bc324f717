package envelope

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMSClient is the part of *kms.Client a [KMS] provider uses.
type KMSClient interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMS is a [KeyProvider] over AWS KMS: GenerateDataKey (AES_256) under a
// symmetric KMS key, and Decrypt pinned to the key id recorded in the blob,
// both with the encryption context (which KMS binds to the wrapped key and
// records in CloudTrail). The function's role needs kms:GenerateDataKey and
// kms:Decrypt on the key (a condition on kms:EncryptionContext:tenant can
// confine a role to tenants).
type KMS struct {
	client KMSClient
	keyID  string
}

// NewKMS returns a provider making data keys under keyID (key id, ARN or
// alias).
func NewKMS(client KMSClient, keyID string) *KMS { return &KMS{client: client, keyID: keyID} }

// GenerateDataKey asks KMS for a 256-bit data key.
func (k *KMS) GenerateDataKey(ctx context.Context, ec KeyContext) ([]byte, []byte, string, error) {
	out, err := k.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String(k.keyID), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec,
	})
	if err != nil {
		return nil, nil, "", err
	}
	id := aws.ToString(out.KeyId) // the key's ARN, even when keyID is an alias
	if id == "" {
		id = k.keyID
	}
	return out.Plaintext, out.CiphertextBlob, id, nil
}

// Decrypt unwraps a data key; KMS refusing the ciphertext or context
// (InvalidCiphertextException) gives [ErrAuthentication], a blob of
// another key (IncorrectKeyException) [ErrUnknownKey].
func (k *KMS) Decrypt(ctx context.Context, wrapped []byte, keyID string, ec KeyContext) ([]byte, error) {
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob: wrapped, KeyId: aws.String(keyID), EncryptionContext: ec,
	})
	var invalid *types.InvalidCiphertextException
	var incorrect *types.IncorrectKeyException
	switch {
	case errors.As(err, &invalid):
		return nil, fmt.Errorf("%w (KMS: %v)", ErrAuthentication, err)
	case errors.As(err, &incorrect):
		return nil, fmt.Errorf("%w (KMS: %v)", ErrUnknownKey, err)
	case err != nil:
		return nil, err
	}
	return out.Plaintext, nil
}
