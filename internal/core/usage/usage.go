// Package usage keeps a record of every billable call (its action, its
// transaction id, when, and how it ended) and sums them up per tenant.
package usage

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/facelambda/facelambda/internal/core/fault"
	"github.com/facelambda/facelambda/internal/core/store"
)

// Record is one billable call.
type Record struct {
	Action        string    `json:"action"`
	TransactionID string    `json:"transactionId"`
	Time          time.Time `json:"time"`
	Outcome       string    `json:"outcome"` // "success" or "error"
	Status        int       `json:"status"`
}

// Summary counts a tenant's billable calls between From and To.
type Summary struct {
	From    time.Time                 `json:"from"`
	To      time.Time                 `json:"to"`
	Total   int                       `json:"total"`
	Actions map[string]map[string]int `json:"actions"` // action -> outcome -> count
}

// Retention is how long usage records are kept.
const Retention = 400 * 24 * time.Hour

// kind is the item kind of usage records.
const kind = "usage"

// pageSize is how many records one read of the store returns.
const pageSize = 1000

// Ledger stores and sums usage records; a nil Items keeps none.
type Ledger struct {
	Items store.Items
}

// Record stores the record of one call of action with transaction id tx
// (id is its unique part) made at now that ended with status (an HTTP-like
// status: 400 and above is an error). A failure is logged: the call it
// records has already happened.
func (l Ledger) Record(ctx context.Context, tenant, action, tx, id string, now time.Time, status int) {
	if l.Items == nil || tenant == "" {
		return
	}
	outcome := "success"
	if status >= 400 {
		outcome = "error"
	}
	data, err := json.Marshal(Record{Action: action, TransactionID: tx, Time: now, Outcome: outcome, Status: status})
	if err == nil {
		err = l.Items.PutItem(context.WithoutCancel(ctx), store.Item{Tenant: tenant, Kind: kind,
			ID: fmt.Sprintf("%013d-%s", now.UnixMilli(), id), Data: data, Created: now, Expires: now.Add(Retention)})
	}
	if err != nil {
		slog.WarnContext(ctx, "usage not recorded", "tx", tx, "err", err)
	}
}

// Available reports NOT_CONFIGURED when no records are kept.
func (l Ledger) Available() error {
	if l.Items == nil {
		return fault.New(fault.CodeNotConfigured, "usage records are not kept in this deployment")
	}
	return nil
}

// Summarize counts the tenant's records in [from, to) by action and outcome.
func (l Ledger) Summarize(ctx context.Context, tenant string, from, to time.Time) (*Summary, error) {
	if err := l.Available(); err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, fault.Invalid("from must be before to")
	}
	u := &Summary{From: from.UTC(), To: to.UTC(), Actions: map[string]map[string]int{}}
	lo, hi := fmt.Sprintf("%013d", from.UnixMilli()), fmt.Sprintf("%013d", to.UnixMilli())
	for {
		items, err := l.Items.ListItems(ctx, tenant, kind, lo, hi, pageSize)
		if err != nil {
			return nil, fmt.Errorf("list usage: %w", err)
		}
		for _, it := range items {
			var rec Record
			if json.Unmarshal(it.Data, &rec) != nil {
				continue
			}
			if u.Actions[rec.Action] == nil {
				u.Actions[rec.Action] = map[string]int{}
			}
			u.Actions[rec.Action][rec.Outcome]++
			u.Total++
		}
		if len(items) < pageSize {
			return u, nil
		}
		lo = items[len(items)-1].ID + "\x00"
	}
}
