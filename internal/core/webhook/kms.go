package webhook

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// KMSAPI is the part of *kms.Client that SDKKMS uses, one method per call.
type KMSAPI interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// SDKKMS adapts the AWS SDK's KMS client to KMS:
//
//	keys := webhook.NewKMSKey(webhook.SDKKMS(kms.NewFromConfig(cfg)), keyID)
//
// The function's role needs kms:Encrypt (the API) and kms:Decrypt (the
// webhook function, the API for rotations) on the key.
func SDKKMS(api KMSAPI) KMS { return sdkKMS{api} }

type sdkKMS struct{ api KMSAPI }

func (s sdkKMS) Encrypt(ctx context.Context, keyID string, plaintext []byte, ec map[string]string) ([]byte, error) {
	out, err := s.api.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: plaintext, EncryptionContext: ec})
	if err != nil {
		return nil, err
	}
	return out.CiphertextBlob, nil
}

func (s sdkKMS) Decrypt(ctx context.Context, keyID string, ciphertext []byte, ec map[string]string) ([]byte, error) {
	out, err := s.api.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(keyID), CiphertextBlob: ciphertext, EncryptionContext: ec})
	if err != nil {
		return nil, err
	}
	return out.Plaintext, nil
}
