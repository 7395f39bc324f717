package httpapi

import (
	"github.com/facelambda/facelambda/internal/core/enroll"
	"github.com/facelambda/facelambda/internal/core/health"
	"github.com/facelambda/facelambda/internal/core/session"
	"github.com/facelambda/facelambda/internal/core/usage"
)

// sessions is the session, face and match service over the Deps' stores,
// models, keys and configuration. It is built per call (Deps may change
// between calls in tests, and the service holds no state of its own); that
// is cheap, as the signers hold their JWKs ready.
func (d *Deps) sessions() *session.Service {
	return &session.Service{Records: d.Records, Blobs: d.Blobs, Bio: d.Bio, Signer: d.Signer, Keys: d.keySet(),
		Events: d.Events, Callbacks: d.callbackPolicy(), DefaultTTL: d.Config.DefaultTTL, MaxTTL: d.Config.MaxTTL,
		UploadTTL: d.Config.UploadTTL, MaxImageBytes: maxImageBytes, Now: d.now}
}

// enrolment is the enrolment, gallery and identification use cases over
// the Deps' enroll service, stores, galleries, keys and events.
func (d *Deps) enrolment() *enroll.UseCases {
	return &enroll.UseCases{Service: d.Enroll, Classes: d.Classes, Galleries: d.Galleries, Bio: d.Bio,
		Signer: d.Signer, Events: d.Events, Now: d.now}
}

// ledger keeps the usage records of billable calls (none without Usage).
func (d *Deps) ledger() usage.Ledger { return usage.Ledger{Items: d.Usage} }

// components are what the monitor checks: the models and the stores.
func (d *Deps) components() []health.Component {
	return []health.Component{{Name: "models", Check: d.ModelsReady},
		{Name: "records", Check: health.Ping(d.Records)}, {Name: "blobs", Check: health.Ping(d.Blobs)}}
}
