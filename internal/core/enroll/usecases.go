package enroll

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/facelambda/facelambda/internal/core/biometric"
	"github.com/facelambda/facelambda/internal/core/calibration"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/signing"
	"github.com/facelambda/facelambda/internal/core/store"
)

// Identifier searches the galleries of a tenant (Galleries implements it).
type Identifier interface {
	// Identify returns the k classes of the gallery most similar to probe
	// with a cosine of at least minCosine, best first.
	Identify(ctx context.Context, tenant, gallery string, probe []float32, k int, minCosine float64) ([]Hit, error)
	// Drop deletes what is kept of galleries besides their records (stored
	// shards, cached matrices).
	Drop(ctx context.Context, tenant string, galleries ...string) error
}

// UseCases are the enrolment and gallery use cases as a transport calls
// them: the Service's enrolment, verification and erasure with their
// domain events published and their decisions signed, gallery management
// and 1:N identification.
type UseCases struct {
	Service   *Service
	Classes   store.Classes
	Galleries Identifier
	Bio       *biometric.Service
	// Signer signs decisions (nil: nothing is signed).
	Signer *signing.Signer
	// Events receives domain events (nil: none are published).
	Events events.Publisher
	Now    func() time.Time
}

func (u *UseCases) now() time.Time {
	if u.Now != nil {
		return u.Now().UTC()
	}
	return time.Now().UTC()
}

func (u *UseCases) emit(ctx context.Context) func(events.Event, error) {
	return func(ev events.Event, err error) { events.Emit(ctx, u.Events, ev, err) }
}

// Enroll enrols images under a class id (Service.Enroll) and publishes
// the outcome; requestID is the request's transaction id.
func (u *UseCases) Enroll(ctx context.Context, tenant, requestID string, id uint64, images [][]byte) (*Result, error) {
	res, err := u.Service.Enroll(ctx, tenant, id, images)
	if err != nil {
		return nil, err
	}
	if res.PerformedAction == ActionFailed {
		code := ""
		if n := len(res.Errors); n > 0 {
			code = res.Errors[n-1].ErrorCode
		}
		u.emit(ctx)(events.NewEnrollmentFailed(tenant, events.EnrollmentData{ClassID: id, ErrorCode: code, RefID: requestID}))
	} else if res.PerformedAction != ActionNone {
		u.emit(ctx)(events.NewEnrollmentCompleted(tenant, events.EnrollmentData{ClassID: id, Templates: res.TemplateStatus.FeatureVectors, RefID: requestID}))
	}
	return res, nil
}

// SignedVerification is a verification with its signature, bound to the
// probe image and the class (signing.Claims).
type SignedVerification struct {
	*Verification
	*signing.Claims
	Signature string `json:"signature,omitempty"`
}

// SetSignature sets the signature (signing.Decision).
func (v *SignedVerification) SetSignature(sig string) { v.Signature = sig }

// Bind sets the claims (signing.Decision).
func (v *SignedVerification) Bind(c *signing.Claims) { v.Claims = c }

// Verify verifies a probe image against a class's template
// (Service.Verify), signs the answer bound to the image and the class and
// publishes it when a comparison was made.
func (u *UseCases) Verify(ctx context.Context, tenant, requestID string, id uint64, img []byte, level calibration.Level) (*SignedVerification, error) {
	v, err := u.Service.Verify(ctx, tenant, id, img, level)
	if err != nil {
		return nil, err
	}
	out := &SignedVerification{Verification: v}
	signErr := u.Signer.SignDecision(out, tenant, requestID, u.now(),
		signing.Subject{Role: "probe", ImageSHA256: signing.Digest(img)},
		signing.Subject{Role: "reference", ID: strconv.FormatUint(id, 10)})
	if v.MatchScore != nil { // else no comparison was made: nothing to report
		verified := v.Verified
		u.emit(ctx)(events.NewVerificationCompleted(tenant, events.VerificationData{ClassID: id, Score: *v.MatchScore,
			FalseAcceptanceRate: *v.FalseAcceptanceRate, Level: string(level), PossibleMatch: &verified, RefID: requestID}))
	}
	return out, signErr
}

// Delete erases a class's template (Service.Delete) and publishes it.
func (u *UseCases) Delete(ctx context.Context, tenant, requestID string, id uint64) error {
	if err := u.Service.Delete(ctx, tenant, id); err != nil {
		return err
	}
	u.emit(ctx)(events.NewTemplateDeleted(tenant, events.TemplateData{ClassID: id, RefID: requestID}))
	return nil
}

// galleryError maps a store error of a gallery call.
func galleryError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fault.New(fault.CodeNotFound, "gallery not found")
	case errors.Is(err, store.ErrExists):
		return fault.New(fault.CodeGalleryExists, "a gallery of that name exists")
	}
	return err
}
