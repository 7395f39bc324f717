package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
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

// wait returns the jittered wait after a failed attempt n.
func (d *Dispatcher) wait(n int) time.Duration {
	base := d.schedule[n-1]
	f := 1 + d.jitter*(2*d.rand()-1)
	return time.Duration(float64(base) * f)
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// message builds the body and headers of an attempt.
func (d *Dispatcher) message(ev events.Event, t target, ts time.Time) ([]byte, http.Header, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, nil, err
	}
	if t.EncryptMessageBody && len(t.secrets) > 0 {
		if body, err = EncryptBody(t.secrets, ev.ID, body); err != nil {
			return nil, nil, err
		}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set(HeaderID, ev.ID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if t.AddSignatureHeader && len(t.secrets) > 0 {
		sig, err := Sign(t.secrets, ev.ID, ts, body)
		if err != nil {
			return nil, nil, err
		}
		h.Set(HeaderSignature, sig)
	}
	if t.AuthHeaderKey != "" {
		h.Set(t.AuthHeaderKey, t.authHeaderValue)
	}
	return body, h, nil
}

// attempt makes attempt n of delivering ev to t, logs it and returns it.
// ping attempts are not retried.
func (d *Dispatcher) attempt(ctx context.Context, ev events.Event, t target, n int, ping bool) Delivery {
	select {
	case d.sem <- struct{}{}:
		defer func() { <-d.sem }()
	case <-ctx.Done():
	}
	start, clock := d.now(), time.Now()
	del := Delivery{WebhookID: t.ID, EventID: ev.ID, EventType: ev.Type, Attempt: n, Time: start.UTC()}
	status, hdr, err := d.post(ctx, ev, t, start)
	del.LatencyMs = time.Since(clock).Milliseconds()
	del.StatusCode = status

	retry := true
	var after time.Duration
	switch {
	case err != nil:
		del.Error = errorText(err)
	case status >= 200 && status < 300:
		del.Outcome = OutcomeDelivered
		retry = false
	case status == http.StatusGone:
		del.Outcome = OutcomeDisabled
		del.Error = "410 Gone: the webhook is disabled"
		retry = false
	case status >= 300 && status < 400:
		del.Error = fmt.Sprintf("HTTP %d: redirects are not followed", status)
	default:
		del.Error = fmt.Sprintf("HTTP %d", status)
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			after, _ = retryAfter(hdr.Get("Retry-After"), start)
		}
	}
	if retry {
		switch {
		case ping:
			del.Outcome = OutcomeFailed
		case n < d.MaxAttempts() && d.queue != nil:
			wait := max(d.wait(n), after)
			next := start.Add(wait).UTC()
			del.Outcome, del.NextRetry = OutcomeRetrying, &next
		default:
			del.Outcome, del.Dead = OutcomeDead, true
		}
	}
	if del.Outcome == OutcomeDisabled && !t.callback {
		if err := d.reg.disable(ctx, ev.Tenant, t.ID, fmt.Sprintf("410 Gone on %s (event %s)", start.UTC().Format(time.RFC3339), ev.ID)); err != nil && !isNotFound(err) {
			d.log.ErrorContext(ctx, "webhook: disable after 410 failed", "tenant", ev.Tenant, "webhook_id", t.ID, "err", err)
		}
	}
	d.record(ctx, ev.Tenant, &del)
	level := slog.LevelInfo
	if del.Outcome != OutcomeDelivered {
		level = slog.LevelWarn
	}
	d.log.Log(ctx, level, "webhook delivery", "tenant", ev.Tenant, "webhook_id", t.ID, "event_id", ev.ID,
		"type", ev.Type, "attempt", n, "status", status, "latency_ms", del.LatencyMs, "outcome", del.Outcome, "err", del.Error)
	return del
}

// post sends one request.
func (d *Dispatcher) post(ctx context.Context, ev events.Event, t target, ts time.Time) (int, http.Header, error) {
	if _, err := d.reg.policy.CheckURL(t.URL); err != nil {
		return 0, nil, err
	}
	body, h, err := d.message(ev, t, ts)
	if err != nil {
		return 0, nil, fmt.Errorf("build message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = h
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// errorText is the logged text of a transport error.
func errorText(err error) string {
	var ne net.Error
	s := err.Error()
	switch {
	case errors.Is(err, ErrBlockedAddress):
		s = "refused: " + s
	case errors.As(err, &ne) && ne.Timeout():
		s = "timeout: " + s
	}
	if len(s) > maxErrorText {
		s = s[:maxErrorText]
	}
	return strings.ToValidUTF8(s, "?")
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
