package webhook

import "github.com/facelambda/facelambda/internal/core/envelope"

// KMS is the part of the AWS SDK's *kms.Client a KMSKey uses (the one
// KMS wrapper, envelope.KMS, calls it).
type KMS = envelope.KMSClient

// KMSAPI is KMS (compatibility shim).
type KMSAPI = KMS

// SDKKMS returns api (compatibility shim: NewKMSKey takes the SDK's client
// itself).
func SDKKMS(api KMSAPI) KMS { return api }
