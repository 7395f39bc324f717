package webhook

import (
	"context"
	"errors"
	"fmt"
)

// target is what a delivery needs of a registration.
type target struct {
	Webhook
	callback        bool
	secrets         []string // active, newest first
	authHeaderValue string
}

// target returns the registration of a delivery with its active secrets.
func (r *Registry) target(ctx context.Context, rec record) (target, error) {
	sec, err := r.open(ctx, rec)
	if err != nil {
		return target{}, err
	}
	t := target{Webhook: r.view(rec), secrets: sec.active(r.now()), authHeaderValue: sec.AuthHeaderValue}
	if len(t.secrets) == 0 {
		return target{}, fmt.Errorf("webhook %s: no active secret", rec.ID)
	}
	return t, nil
}

// targets returns the targets of an event: the enabled webhooks of the
// tenant subscribed to its type. Registrations whose secrets cannot be
// opened (a KMS failure) are returned apart, with the errors, so that they
// can be retried on their own.
func (r *Registry) targets(ctx context.Context, tenant, eventType string) ([]target, []record, error) {
	recs, err := r.list(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	var out []target
	var failed []record
	var errs []error
	for _, rec := range recs {
		if !rec.Enabled || !rec.subscribes(eventType) {
			continue
		}
		t, err := r.target(ctx, rec)
		if err != nil {
			failed = append(failed, rec)
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	return out, failed, errors.Join(errs...)
}
