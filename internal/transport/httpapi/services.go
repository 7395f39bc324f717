package httpapi

import (
	"errors"

	"github.com/facelambda/facelambda/internal/core/session"
)

// sessions is the session, face and match service over the Deps' stores,
// models, keys and configuration (built per call: Deps may change
// between calls in tests, and the service holds no state of its own).
func (d *Deps) sessions() *session.Service {
	return &session.Service{Records: d.Records, Blobs: d.Blobs, Bio: d.Bio, Signer: d.Signer, Keys: d.keySet(),
		Events: d.Events, Callbacks: d.callbackPolicy(), DefaultTTL: d.Config.DefaultTTL, MaxTTL: d.Config.MaxTTL,
		UploadTTL: d.Config.UploadTTL, MaxImageBytes: maxImageBytes, Now: d.now}
}

// fromCore gives a core error about one field of the input the transport's
// form, so that the error object names the field.
func fromCore(err error) error {
	var fe *session.FieldError
	if errors.As(err, &fe) {
		return &fieldError{be: fe.Err, field: clip(fe.Field)}
	}
	return err
}
