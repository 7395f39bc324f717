package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/store"
)

// DefaultSchedule is the wait before each retry: attempt 1 is immediate,
// attempt 2 follows a failed attempt 1 by about 5 s, ..., attempt 8 (the
// last) follows attempt 7 by about 24 h: about 41.6 hours in all.
var DefaultSchedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	24 * time.Hour,
}

// Defaults of Options.
const (
	DefaultJitter      = 0.1
	DefaultLogTTL      = 30 * 24 * time.Hour
	DefaultConcurrency = 16
	DefaultInline      = 10
	// MaxRetryAfter caps a Retry-After header.
	MaxRetryAfter = 24 * time.Hour
	// CallbackID is the webhook id under which deliveries to a session's
	// callbackURL are logged and queued.
	CallbackID = "callback"
	// maxResponseRead is how much of a response body is read (and
	// discarded).
	maxResponseRead = 4 << 10
	// maxErrorText bounds the error text of a logged attempt.
	maxErrorText = 512
	// UserAgent is sent with every delivery.
	UserAgent = "facelambda-webhooks/1"
)

// Outcomes of an attempt (Delivery.Outcome).
const (
	OutcomeDelivered = "delivered" // 2xx
	OutcomeRetrying  = "retrying"  // failed, another attempt is scheduled (NextRetry)
	OutcomeDead      = "dead"      // failed, and it was the last attempt: dead-lettered
	OutcomeDisabled  = "disabled"  // 410 Gone: the webhook is disabled, no more attempts
	OutcomeFailed    = "failed"    // a test ping failed (pings are not retried)
)

// Options configures a Dispatcher. Registry is required.
type Options struct {
	Registry *Registry
	// Client sends deliveries (default: NewClient with the registry's
	// policy, Timeout and Resolver). Replace it only in tests.
	Client *http.Client
	// Timeout bounds each attempt (default 10 s).
	Timeout time.Duration
	// Resolver resolves names for the default client.
	Resolver *net.Resolver
	// Schedule is the wait before each retry (default DefaultSchedule):
	// len(Schedule)+1 attempts in all.
	Schedule []time.Duration
	// Jitter is the relative spread of each wait (default 0.1: ±10%;
	// negative: none).
	Jitter float64
	// Queue receives retries (required to retry: without one, a failed
	// attempt is logged as dead).
	Queue Queue
	// DeadLetter receives the envelopes of deliveries whose last attempt
	// failed, and messages that are not events (optional).
	DeadLetter Queue
	// Callback returns the callback URL an event must also go to ("" for
	// none), such as a session's callbackURL (see SessionCallback).
	Callback func(ctx context.Context, ev events.Event) (string, error)
	// LogTTL is how long attempts stay in the delivery log (default 30
	// days).
	LogTTL time.Duration
	// Concurrency bounds simultaneous attempts (default 16).
	Concurrency int
	// InlineTargets is the most targets an event's message delivers to
	// itself (default 10): beyond, each target gets a message of its own.
	InlineTargets int
	// Now is the clock (default time.Now); Rand returns a number in
	// [0, 1) for the jitter (default math/rand/v2).
	Now    func() time.Time
	Rand   func() float64
	Logger *slog.Logger
}

// Dispatcher delivers events to webhooks: HandleSQS in the webhook
// function, Local in the local server.
type Dispatcher struct {
	reg      *Registry
	client   *http.Client
	schedule []time.Duration
	jitter   float64
	queue    Queue
	dlq      Queue
	callback func(ctx context.Context, ev events.Event) (string, error)
	logTTL   time.Duration
	sem      chan struct{}
	inline   int
	now      func() time.Time
	rand     func() float64
	log      *slog.Logger
}

// NewDispatcher returns a dispatcher.
func NewDispatcher(o Options) (*Dispatcher, error) {
	if o.Registry == nil {
		return nil, errors.New("webhook dispatcher: no registry")
	}
	if o.Client == nil {
		o.Client = NewClient(o.Registry.Policy(), ClientOptions{Timeout: o.Timeout, Resolver: o.Resolver})
	}
	if o.Schedule == nil {
		o.Schedule = DefaultSchedule
	}
	if o.Jitter == 0 {
		o.Jitter = DefaultJitter
	}
	if o.Jitter < 0 {
		o.Jitter = 0
	}
	if o.LogTTL <= 0 {
		o.LogTTL = DefaultLogTTL
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.InlineTargets <= 0 {
		o.InlineTargets = DefaultInline
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Dispatcher{
		reg:      o.Registry,
		client:   o.Client,
		schedule: append([]time.Duration(nil), o.Schedule...),
		jitter:   o.Jitter,
		queue:    o.Queue,
		dlq:      o.DeadLetter,
		callback: o.Callback,
		logTTL:   o.LogTTL,
		sem:      make(chan struct{}, o.Concurrency),
		inline:   o.InlineTargets,
		now:      o.Now,
		rand:     o.Rand,
		log:      o.Logger,
	}, nil
}

// MaxAttempts is the number of attempts of a delivery.
func (d *Dispatcher) MaxAttempts() int { return len(d.schedule) + 1 }

// Deliver makes the first attempt of an event to every enabled webhook of
// its tenant subscribed to its type, and to callbackURL when not empty,
// queues the retries of those that failed and returns the attempts. With
// more than Options.InlineTargets targets (and a queue), the first
// attempts are queued instead, one message per target, so that a message
// never waits on many slow endpoints; a registration whose secrets cannot
// be opened is queued likewise, to be tried again on its own. An error
// means the event could not be handled (the webhooks could not be read, or
// a message could not be queued): hand it to the queue again.
func (d *Dispatcher) Deliver(ctx context.Context, ev events.Event, callbackURL string) ([]Delivery, error) {
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	if ev.Type == events.WebhookTest {
		return nil, nil // pings go to one webhook: Test
	}
	targets, unopened, openErr := d.reg.targets(ctx, ev.Tenant, ev.Type)
	if targets == nil && unopened == nil && openErr != nil {
		return nil, fmt.Errorf("event %s: %w", ev.ID, openErr)
	}
	if callbackURL != "" {
		targets = append(targets, callbackTarget(callbackURL))
	}
	var errs []error
	if openErr != nil {
		d.log.ErrorContext(ctx, "webhook: secrets of a webhook could not be opened, its delivery is queued", "tenant", ev.Tenant, "event_id", ev.ID, "err", openErr)
		if d.queue == nil {
			errs = append(errs, openErr)
		}
	}
	now := d.now()
	var queued []target
	for _, rec := range unopened {
		queued = append(queued, target{Webhook: rec.Webhook})
	}
	if len(targets) > d.inline && d.queue != nil {
		queued, targets = append(queued, targets...), nil
	}
	if d.queue != nil {
		for _, t := range queued {
			env := Envelope{Event: ev, WebhookID: t.ID, Attempt: 1, Due: now}
			delay := time.Duration(0)
			if !t.callback && t.secrets == nil { // unopened: try again a little later
				env.Due, delay = now.Add(d.schedule[0]), d.schedule[0]
			}
			if t.callback {
				env.CallbackURL = t.URL
			}
			errs = append(errs, d.enqueue(ctx, d.queue, env, delay))
		}
	}
	out := make([]Delivery, len(targets))
	follow := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			out[i] = d.attempt(ctx, ev, t, 1, false)
			follow[i] = d.followUp(ctx, ev, t, out[i])
		})
	}
	wg.Wait()
	return out, errors.Join(append(errs, follow...)...)
}

// callbackTarget is the target of a session's callback URL: no secret, so
// neither signature nor encryption (the receiver reads the result from
// the API, where it is signed).
func callbackTarget(url string) target {
	return target{Webhook: Webhook{ID: CallbackID, URL: url, Enabled: true}, callback: true}
}

// Test sends a webhook.test event to one webhook (enabled or not,
// whatever its subscriptions): one attempt, not retried, logged like the
// others (410 disables it). The caller shows the returned attempt.
func (d *Dispatcher) Test(ctx context.Context, tenant, webhookID string) (Delivery, error) {
	rec, err := d.reg.load(ctx, tenant, webhookID)
	if err != nil {
		return Delivery{}, err
	}
	t, err := d.reg.target(ctx, rec)
	if err != nil {
		return Delivery{}, err
	}
	ev, err := events.NewPing(tenant, webhookID)
	if err != nil {
		return Delivery{}, err
	}
	return d.attempt(ctx, ev, t, 1, true), nil
}

// SessionCallback returns an Options.Callback sending liveness.completed
// events to the callbackURL of their session (data.sessionId), when it
// has one and is still there.
func SessionCallback(records store.Records) func(ctx context.Context, ev events.Event) (string, error) {
	return func(ctx context.Context, ev events.Event) (string, error) {
		if ev.Type != events.LivenessCompleted {
			return "", nil
		}
		var data struct {
			SessionID string `json:"sessionId"`
		}
		if err := json.Unmarshal(ev.Data, &data); err != nil || data.SessionID == "" {
			return "", nil
		}
		s, err := records.GetSession(ctx, ev.Tenant, data.SessionID)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return s.CallbackURL, nil
	}
}
