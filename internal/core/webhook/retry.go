package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/facelambda/facelambda/internal/core/events"
)

// Queue sends a message to be handled again after a delay (SQSQueue in
// AWS: SQS delays a message 15 minutes at most, so longer waits are made
// of several hops; the Local dispatcher's timers wait any delay).
type Queue interface {
	Send(ctx context.Context, body []byte, delay time.Duration) error
}

// Envelope is a queued retry: the event, the webhook it is for, and the
// attempt to make when it is due. Dead-lettered envelopes carry the last
// attempt made and its status and error.
type Envelope struct {
	Event events.Event `json:"event"`
	// WebhookID is the registration, or CallbackID for the session's
	// callback URL (then CallbackURL).
	WebhookID   string    `json:"webhookId"`
	CallbackURL string    `json:"callbackUrl,omitempty"`
	Attempt     int       `json:"attempt"`
	Due         time.Time `json:"due"`
	LastStatus  int       `json:"lastStatus,omitempty"`
	LastError   string    `json:"lastError,omitempty"`
}

// wait returns the jittered wait after a failed attempt n.
func (d *Dispatcher) wait(n int) time.Duration {
	base := d.schedule[n-1]
	f := 1 + d.jitter*(2*d.rand()-1)
	return time.Duration(float64(base) * f)
}

// followUp queues the retry of a failed attempt, or dead-letters it.
func (d *Dispatcher) followUp(ctx context.Context, ev events.Event, t target, del Delivery) error {
	env := Envelope{Event: ev, WebhookID: t.ID, Attempt: del.Attempt}
	if t.callback {
		env.CallbackURL = t.URL
	}
	switch del.Outcome {
	case OutcomeRetrying:
		env.Attempt, env.Due = del.Attempt+1, *del.NextRetry
		return d.enqueue(ctx, d.queue, env, del.NextRetry.Sub(d.now()))
	case OutcomeDead:
		if d.dlq == nil {
			return nil
		}
		env.LastStatus, env.LastError = del.StatusCode, del.Error
		return d.enqueue(ctx, d.dlq, env, 0)
	}
	return nil
}

func (d *Dispatcher) enqueue(ctx context.Context, q Queue, env Envelope, delay time.Duration) error {
	body, err := json.Marshal(env)
	if err != nil {
		return err
	}
	if err := q.Send(ctx, body, max(delay, 0)); err != nil {
		return fmt.Errorf("queue event %s for webhook %s (attempt %d): %w", env.Event.ID, env.WebhookID, env.Attempt, err)
	}
	return nil
}

// HandleMessage handles one queued message: an event (first attempts)
// or an Envelope (a retry, or a hop of a long wait). An error means the
// message must be handled again.
func (d *Dispatcher) HandleMessage(ctx context.Context, body []byte) error {
	var probe struct {
		Event json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return d.poison(ctx, body, err)
	}
	if len(probe.Event) == 0 {
		var ev events.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			return d.poison(ctx, body, err)
		}
		if err := ev.Validate(); err != nil {
			return d.poison(ctx, body, err)
		}
		callback := ""
		if d.callback != nil {
			u, err := d.callback(ctx, ev)
			if err != nil {
				return fmt.Errorf("event %s: callback URL: %w", ev.ID, err)
			}
			if u != "" {
				if _, err := d.reg.policy.CheckURL(u); err != nil {
					d.log.WarnContext(ctx, "webhook: callback URL refused", "tenant", ev.Tenant, "event_id", ev.ID, "err", err)
				} else {
					callback = u
				}
			}
		}
		_, err := d.Deliver(ctx, ev, callback)
		return err
	}
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return d.poison(ctx, body, err)
	}
	if err := env.Event.Validate(); err != nil || env.Attempt < 1 || env.WebhookID == "" {
		return d.poison(ctx, body, fmt.Errorf("bad envelope: %v", err))
	}
	return d.retry(ctx, env)
}

// retry handles an Envelope.
func (d *Dispatcher) retry(ctx context.Context, env Envelope) error {
	ev := env.Event
	if wait := env.Due.Sub(d.now()); wait > time.Second {
		// Not due yet: another hop (SQS delays 15 minutes at most).
		if d.queue == nil {
			return errors.New("no retry queue")
		}
		return d.enqueue(ctx, d.queue, env, wait)
	}
	var t target
	if env.WebhookID == CallbackID {
		if env.CallbackURL == "" {
			return d.poison(ctx, nil, errors.New("callback envelope without URL"))
		}
		t = callbackTarget(env.CallbackURL)
	} else {
		rec, err := d.reg.load(ctx, ev.Tenant, env.WebhookID)
		if isNotFound(err) {
			d.log.InfoContext(ctx, "webhook: retry dropped, the webhook is gone", "tenant", ev.Tenant, "webhook_id", env.WebhookID, "event_id", ev.ID)
			return nil
		}
		if err != nil {
			return err
		}
		if !rec.Enabled || !rec.subscribes(ev.Type) {
			d.log.InfoContext(ctx, "webhook: retry dropped, the webhook is disabled or unsubscribed", "tenant", ev.Tenant, "webhook_id", env.WebhookID, "event_id", ev.ID)
			return nil
		}
		if t, err = d.reg.target(ctx, rec); err != nil {
			return err
		}
	}
	del := d.attempt(ctx, ev, t, min(env.Attempt, d.MaxAttempts()), false)
	return d.followUp(ctx, ev, t, del)
}

// poison handles a message that is not one: to the dead-letter queue if
// there is one (an error only if that fails), dropped with an error log
// otherwise.
func (d *Dispatcher) poison(ctx context.Context, body []byte, cause error) error {
	d.log.ErrorContext(ctx, "webhook: unreadable queue message", "err", cause, "bytes", len(body))
	if d.dlq == nil || body == nil {
		return nil
	}
	if err := d.dlq.Send(ctx, body, 0); err != nil {
		return fmt.Errorf("dead-letter an unreadable message: %w", err)
	}
	return nil
}
