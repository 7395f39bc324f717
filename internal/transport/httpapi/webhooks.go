package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"time"

	"github.com/facelambda/facelambda/internal/core/auth"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/uid"
	"github.com/facelambda/facelambda/internal/core/usage"
	"github.com/facelambda/facelambda/internal/core/webhook"
)

func (d *Deps) webhookRoutes(rt *router) {
	rt.handle("POST", "/v2/webhooks", auth.ScopeWebhook, d.needWebhooks(d.createWebhook))
	rt.handle("GET", "/v2/webhooks", auth.ScopeWebhook, d.needWebhooks(d.listWebhooks))
	rt.handle("GET", "/v2/webhooks/{id}", auth.ScopeWebhook, d.needWebhooks(d.getWebhook))
	rt.handle("PUT", "/v2/webhooks/{id}", auth.ScopeWebhook, d.needWebhooks(d.updateWebhook))
	rt.handle("DELETE", "/v2/webhooks/{id}", auth.ScopeWebhook, d.needWebhooks(d.deleteWebhook))
	rt.handle("POST", "/v2/webhooks/{id}/test", auth.ScopeWebhook, d.needWebhooks(d.testWebhook))
	rt.handle("GET", "/v2/webhooks/{id}/deliveries", auth.ScopeWebhook, d.needWebhooks(d.webhookDeliveries))
	rt.handle("GET", "/v2/usage", auth.ScopeUsage, d.usage)
}

// needWebhooks answers 503 where the function was built without a webhook
// registry (a deployment error, reported rather than crashing).
func (d *Deps) needWebhooks(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.Webhooks == nil || d.Dispatcher == nil {
			WriteError(w, r, fault.New(fault.CodeNotConfigured, "webhooks are not configured in this deployment"))
			return
		}
		h(w, r)
	}
}

func webhookError(err error) error {
	switch {
	case errors.Is(err, webhook.ErrInvalid):
		return fault.Invalid("%v", err)
	case errors.Is(err, store.ErrNotFound):
		return fault.New(fault.CodeNotFound, "webhook not found")
	}
	return fault.Internal("", err)
}

// WebhookWithSecret is a registration as created or rotated: the only
// time its signing secret is shown.
type WebhookWithSecret struct {
	webhook.Webhook
	Secret string `json:"secret,omitempty"`
}

func (d *Deps) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in webhook.CreateInput
	if err := readJSON(w, r, 16<<10, &in); err != nil {
		WriteError(w, r, err)
		return
	}
	wh, secret, err := d.Webhooks.Create(r.Context(), tenant(r), in)
	if err != nil {
		WriteError(w, r, webhookError(err))
		return
	}
	w.Header().Set("Location", "/v2/webhooks/"+wh.ID)
	writeJSON(w, http.StatusCreated, WebhookWithSecret{Webhook: wh, Secret: secret})
}

func (d *Deps) listWebhooks(w http.ResponseWriter, r *http.Request) {
	list, err := d.Webhooks.List(r.Context(), tenant(r))
	if err != nil {
		WriteError(w, r, webhookError(err))
		return
	}
	if list == nil {
		list = []webhook.Webhook{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (d *Deps) getWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := d.Webhooks.Get(r.Context(), tenant(r), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, webhookError(err))
		return
	}
	writeJSON(w, http.StatusOK, wh)
}

func (d *Deps) updateWebhook(w http.ResponseWriter, r *http.Request) {
	var in webhook.UpdateInput
	if err := readJSON(w, r, 16<<10, &in); err != nil {
		WriteError(w, r, err)
		return
	}
	wh, secret, err := d.Webhooks.Update(r.Context(), tenant(r), r.PathValue("id"), in)
	if err != nil {
		WriteError(w, r, webhookError(err))
		return
	}
	writeJSON(w, http.StatusOK, WebhookWithSecret{Webhook: wh, Secret: secret})
}

func (d *Deps) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := d.Webhooks.Delete(r.Context(), tenant(r), r.PathValue("id")); err != nil {
		WriteError(w, r, webhookError(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (d *Deps) testWebhook(w http.ResponseWriter, r *http.Request) {
	del, err := d.Dispatcher.Test(r.Context(), tenant(r), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, webhookError(err))
		return
	}
	writeJSON(w, http.StatusOK, del)
}

func (d *Deps) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		var err error
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			WriteError(w, r, fault.Invalid("limit must be 1 to 500"))
			return
		}
	}
	t, id := tenant(r), r.PathValue("id")
	if _, err := d.Webhooks.Get(r.Context(), t, id); err != nil {
		WriteError(w, r, webhookError(err))
		return
	}
	list, err := d.Webhooks.Deliveries(r.Context(), t, id, limit)
	if err != nil {
		WriteError(w, r, webhookError(err))
		return
	}
	if list == nil {
		list = []webhook.Delivery{}
	}
	writeJSON(w, http.StatusOK, list)
}

// emit returns a function that publishes a domain event (as made by an
// events constructor); a failure is logged, never fails the call that
// already happened.
func (d *Deps) emit(ctx context.Context) func(events.Event, error) {
	return func(ev events.Event, err error) { events.Emit(ctx, d.Events, ev, err) }
}

// Transaction ids and usage records (seed 002): every billable call gets a
// transaction id W-face-<action>-<uuid>-<epoch ms>, returned as the
// response's X-Request-Id (and refid), and a usage record of kind "usage".

// UsageRecord is one billable call.
type UsageRecord = usage.Record

// billable marks a route's calls as billable under action.
func (d *Deps) billable(action string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now := d.now()
		id := uid.New()
		// The request's id becomes the transaction id, unless the caller
		// gave one: then that stays the id of everything.
		tx := fmt.Sprintf("W-face-%s-%s-%d", action, id, now.UnixMilli())
		if st := stateOf(r); st.given {
			tx = st.id
		}
		setRequestID(w, r, tx)
		sw, _ := w.(*statusWriter)
		h(w, r)
		t := tenant(r)
		status := http.StatusOK
		if sw != nil && sw.status != 0 {
			status = sw.status
		}
		d.recordUsage(r.Context(), t, action, tx, id, now, status)
	}
}

// recordUsage stores the usage record of one billable call.
func (d *Deps) recordUsage(ctx context.Context, t, action, tx, id string, now time.Time, status int) {
	d.ledger().Record(ctx, t, action, tx, id, now, status)
}

// Usage is the answer of GET /v2/usage.
type Usage = usage.Summary

func (d *Deps) usage(w http.ResponseWriter, r *http.Request) {
	ledger := d.ledger()
	if err := ledger.Available(); err != nil {
		WriteError(w, r, err)
		return
	}
	q := r.URL.Query()
	to, from := d.now(), d.now().Add(-30*24*time.Hour)
	var err error
	if v := q.Get("from"); v != "" {
		if from, err = time.Parse(time.RFC3339, v); err != nil {
			WriteError(w, r, fault.Invalid("from must be an RFC 3339 time"))
			return
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			WriteError(w, r, fault.Invalid("to must be an RFC 3339 time"))
			return
		}
	}
	u, err := ledger.Summarize(r.Context(), tenant(r), from, to)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}
