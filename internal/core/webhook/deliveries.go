package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/store"
)

// Delivery is one attempt, as logged (store.Items of kind "delivery",
// kept Options.LogTTL) and shown by GET /v2/webhooks/{id}/deliveries.
type Delivery struct {
	ID         string    `json:"id"`
	WebhookID  string    `json:"webhookId"`
	EventID    string    `json:"eventId"`
	EventType  string    `json:"eventType"`
	Attempt    int       `json:"attempt"`
	Time       time.Time `json:"time"`
	StatusCode int       `json:"statusCode,omitempty"`
	LatencyMs  int64     `json:"latencyMs"`
	Error      string    `json:"error,omitempty"`
	Outcome    string    `json:"outcome"`
	// NextRetry is when the next attempt is due (Outcome "retrying").
	NextRetry *time.Time `json:"nextRetry,omitempty"`
	// Dead is true when this was the last attempt and it failed: the
	// event went to the dead-letter queue.
	Dead bool `json:"dead"`
}

// deliveryID is the item id of an attempt: the webhook id, then the time
// and the attempt number inverted, so that ids ascend from the newest
// (the later attempt first at equal times), then the event id.
func deliveryID(webhookID string, t time.Time, eventID string, n int) string {
	return fmt.Sprintf("%s.%019d.%03d.%s", webhookID, math.MaxInt64-t.UnixNano(), 999-min(max(n, 0), 999), eventID)
}

// record logs an attempt (failures to log are only reported).
func (d *Dispatcher) record(ctx context.Context, tenant string, del *Delivery) {
	del.ID = deliveryID(del.WebhookID, del.Time, del.EventID, del.Attempt)
	data, err := json.Marshal(del)
	if err == nil {
		err = d.reg.items.PutItem(ctx, store.Item{
			Tenant: tenant, Kind: KindDelivery, ID: del.ID, Data: data,
			Created: del.Time, Expires: del.Time.Add(d.logTTL),
		})
	}
	if err != nil {
		d.log.ErrorContext(ctx, "webhook: logging a delivery failed", "tenant", tenant, "webhook_id", del.WebhookID, "err", err)
	}
}

// Deliveries returns the logged attempts of a webhook (or of CallbackID),
// newest first, at most limit (50 when not positive, 1,000 at most).
func (r *Registry) Deliveries(ctx context.Context, tenant, webhookID string, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	if webhookID == "" || strings.ContainsAny(webhookID, ".#/") {
		return []Delivery{}, nil
	}
	items, err := r.items.ListItems(ctx, tenant, KindDelivery, webhookID+".", webhookID+"/", limit)
	if err != nil {
		return nil, fmt.Errorf("webhook %s deliveries: %w", webhookID, err)
	}
	out := make([]Delivery, 0, len(items))
	for _, it := range items {
		var del Delivery
		if err := json.Unmarshal(it.Data, &del); err != nil {
			return nil, fmt.Errorf("webhook %s deliveries: %w", webhookID, err)
		}
		out = append(out, del)
	}
	return out, nil
}
