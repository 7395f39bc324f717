package webhook

import "github.com/facelambda/facelambda/internal/core/envelope"

// KMS is the part of the AWS SDK's *kms.Client a KMSKey uses (the one
// KMS wrapper, envelope.KMS, calls it).
type KMS = envelope.KMSClient
