package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/facelambda/facelambda/internal/adapters/store/embedded"
	"github.com/facelambda/facelambda/internal/core/events"
	"github.com/facelambda/facelambda/internal/core/store"
	"github.com/facelambda/facelambda/internal/core/webhook"
)

// fixture is a registry and a dispatcher on a fake clock, with recorded
// retry and dead-letter queues.
type fixture struct {
	reg *webhook.Registry
	d   *webhook.Dispatcher
	q   *recordQueue
	dlq *recordQueue
	clk *clock
}

func newFixture(t *testing.T, p webhook.Policy, opt func(o *webhook.Options)) *fixture {
	t.Helper()
	f := &fixture{reg: newRegistry(t, p), q: &recordQueue{}, dlq: &recordQueue{}, clk: newClock()}
	f.reg.Now = f.clk.Now
	o := webhook.Options{
		Registry: f.reg, Queue: f.q, DeadLetter: f.dlq, Now: f.clk.Now,
		Rand: func() float64 { return 0.5 }, Logger: quietLogger(t), Timeout: 2 * time.Second,
	}
	if opt != nil {
		opt(&o)
	}
	d, err := webhook.NewDispatcher(o)
	require.NoError(t, err)
	f.d = d
	return f
}

func (f *fixture) create(t *testing.T, in webhook.CreateInput) (webhook.Webhook, string) {
	t.Helper()
	if in.Events == nil {
		in.Events = []string{"*"}
	}
	w, secret, err := f.reg.Create(t.Context(), "t1", in)
	require.NoError(t, err)
	return w, secret
}

func eventJSON(t *testing.T, ev events.Event) []byte {
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	return b
}

func TestDeliverSignedAndEncrypted(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	rc := newReceiver(t, nil)
	w, secret := f.create(t, webhook.CreateInput{URL: rc.URL + "/hook", AuthHeaderKey: "X-Api-Key", AuthHeaderValue: "k-123"})
	ev := event(t, "t1")

	dels, err := f.d.Deliver(t.Context(), ev, "")
	require.NoError(t, err)
	require.Len(t, dels, 1)
	assert.Equal(t, webhook.OutcomeDelivered, dels[0].Outcome)
	assert.Equal(t, 200, dels[0].StatusCode)
	assert.Equal(t, w.ID, dels[0].WebhookID)

	reqs := rc.requests()
	require.Len(t, reqs, 1)
	h, body := reqs[0].Header, reqs[0].Body
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.Equal(t, ev.ID, h.Get("webhook-id"))
	assert.Equal(t, strconv.FormatInt(f.clk.Now().Unix(), 10), h.Get("webhook-timestamp"))
	assert.Equal(t, "k-123", h.Get("X-Api-Key"))
	require.NoError(t, webhook.Verify(secret, h, body), "signed as sent (encrypted)")
	assert.True(t, stdlibVerify(secret, h, body))
	assert.NotContains(t, string(body), "W-face-match-1", "the body is encrypted")

	plain, err := webhook.Decrypt(secret, h.Get("webhook-id"), body)
	require.NoError(t, err)
	assert.JSONEq(t, string(eventJSON(t, ev)), string(plain))
	var got events.Event
	require.NoError(t, json.Unmarshal(plain, &got))
	assert.Equal(t, ev.ID, got.ID)
	assert.Equal(t, events.MatchCompleted, got.Type)
	assert.Equal(t, "t1", got.Tenant)

	log, err := f.reg.Deliveries(t.Context(), "t1", w.ID, 0)
	require.NoError(t, err)
	require.Len(t, log, 1)
	assert.Equal(t, 1, log[0].Attempt)
	assert.Equal(t, 200, log[0].StatusCode)
	assert.Equal(t, ev.ID, log[0].EventID)
	assert.False(t, log[0].Dead)
	assert.Empty(t, f.q.all())

	// Another tenant's event does not reach the webhook.
	dels, err = f.d.Deliver(t.Context(), event(t, "t2"), "")
	require.NoError(t, err)
	assert.Empty(t, dels)
	assert.Len(t, rc.requests(), 1)
}

func TestDeliverPlainAndUnsigned(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	rc := newReceiver(t, nil)
	_, secret := f.create(t, webhook.CreateInput{URL: rc.URL, EncryptMessageBody: ptr(false)})
	f.create(t, webhook.CreateInput{URL: rc.URL, EncryptMessageBody: ptr(false), AddSignatureHeader: ptr(false),
		Events: []string{events.SessionCreated}})
	ev := event(t, "t1")
	_, err := f.d.Deliver(t.Context(), ev, "")
	require.NoError(t, err)
	reqs := rc.requests()
	require.Len(t, reqs, 1, "only the webhook subscribed to match.completed")
	assert.JSONEq(t, string(eventJSON(t, ev)), string(reqs[0].Body))
	require.NoError(t, webhook.Verify(secret, reqs[0].Header, reqs[0].Body))

	ev2, err := events.NewSessionCreated("t1", events.SessionData{SessionID: "s1"})
	require.NoError(t, err)
	_, err = f.d.Deliver(t.Context(), ev2, "")
	require.NoError(t, err)
	reqs = rc.requests()
	require.Len(t, reqs, 3, "both webhooks")
	unsigned := 0
	for _, r := range reqs[1:] {
		if r.Header.Get("webhook-signature") == "" {
			unsigned++
			assert.Equal(t, ev2.ID, r.Header.Get("webhook-id"))
		}
	}
	assert.Equal(t, 1, unsigned)
}

func TestRotation(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	rc := newReceiver(t, nil)
	w, oldSecret := f.create(t, webhook.CreateInput{URL: rc.URL})
	rotated, newSecret, err := f.reg.Update(t.Context(), "t1", w.ID, webhook.UpdateInput{GenerateNewSecret: true})
	require.NoError(t, err)
	require.NotEmpty(t, newSecret)
	assert.NotEqual(t, oldSecret, newSecret)
	require.NotNil(t, rotated.PreviousSecretExpires)
	assert.Equal(t, f.clk.Now().Add(24*time.Hour), *rotated.PreviousSecretExpires)

	deliver := func() request {
		t.Helper()
		_, err := f.d.Deliver(t.Context(), event(t, "t1"), "")
		require.NoError(t, err)
		reqs := rc.requests()
		return reqs[len(reqs)-1]
	}
	verify := func(secret string, r request) error {
		return webhook.VerifyAt(secret, r.Header, r.Body, f.clk.Now(), webhook.DefaultTolerance)
	}

	// During the overlap both secrets sign, and both decrypt.
	f.clk.Add(23 * time.Hour)
	r := deliver()
	assert.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 2)
	require.NoError(t, verify(oldSecret, r))
	require.NoError(t, verify(newSecret, r))
	for _, s := range []string{oldSecret, newSecret} {
		_, err := webhook.Decrypt(s, r.Header.Get("webhook-id"), r.Body)
		require.NoError(t, err)
	}

	// After 24 hours only the new one does.
	f.clk.Add(time.Hour)
	r = deliver()
	assert.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 1)
	require.NoError(t, verify(newSecret, r))
	assert.ErrorIs(t, verify(oldSecret, r), webhook.ErrSignature)
	_, err = webhook.Decrypt(oldSecret, r.Header.Get("webhook-id"), r.Body)
	assert.ErrorIs(t, err, webhook.ErrNoKey)
	got, err := f.reg.Get(t.Context(), "t1", w.ID)
	require.NoError(t, err)
	assert.Nil(t, got.PreviousSecretExpires)
}

// TestRetryThenDelivered runs the local dispatcher (timers) with a short
// schedule: a 500, then a 200.
func TestRetryThenDelivered(t *testing.T) {
	reg := newRegistry(t, testPolicy)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	w, secret, err := reg.Create(t.Context(), "t1", webhook.CreateInput{URL: rc.URL, Events: []string{"*"}})
	require.NoError(t, err)
	local, err := webhook.NewLocal(webhook.Options{
		Registry: reg, Schedule: []time.Duration{30 * time.Millisecond, time.Hour}, Logger: quietLogger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = local.Close(context.Background()) })
	pub := events.NewLocal(local.Handle, events.LocalOptions{Logger: quietLogger(t)})
	ev := event(t, "t1")
	require.NoError(t, pub.Publish(t.Context(), ev))

	require.Eventually(t, func() bool { return len(rc.requests()) >= 2 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, pub.Close(t.Context()))
	reqs := rc.requests()
	assert.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, ev.ID, r.Header.Get("webhook-id"), "the same id on every attempt")
		require.NoError(t, webhook.Verify(secret, r.Header, r.Body))
	}
	var log []webhook.Delivery
	require.Eventually(t, func() bool {
		log, err = reg.Deliveries(t.Context(), "t1", w.ID, 10)
		return err == nil && len(log) == 2
	}, 2*time.Second, 10*time.Millisecond)
	assert.Equal(t, 2, log[0].Attempt, "newest first")
	assert.Equal(t, webhook.OutcomeDelivered, log[0].Outcome)
	assert.Equal(t, 204, log[0].StatusCode)
	assert.Equal(t, 1, log[1].Attempt)
	assert.Equal(t, webhook.OutcomeRetrying, log[1].Outcome)
	assert.Equal(t, 500, log[1].StatusCode)
	require.NotNil(t, log[1].NextRetry)
	assert.Equal(t, 0, local.Pending())
}

func TestTimeoutRetries(t *testing.T) {
	f := newFixture(t, testPolicy, func(o *webhook.Options) { o.Timeout = 100 * time.Millisecond })
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	})
	f.create(t, webhook.CreateInput{URL: rc.URL})
	dels, err := f.d.Deliver(t.Context(), event(t, "t1"), "")
	require.NoError(t, err)
	require.Len(t, dels, 1)
	assert.Equal(t, webhook.OutcomeRetrying, dels[0].Outcome)
	assert.Contains(t, dels[0].Error, "timeout")
	assert.Zero(t, dels[0].StatusCode)
	envs := f.q.envelopes(t)
	require.Len(t, envs, 1)
	assert.Equal(t, 2, envs[0].Attempt)
	assert.Equal(t, 5*time.Second, f.q.all()[0].Delay, "5 s (jitter centred by Rand 0.5)")
	assert.Equal(t, f.clk.Now().Add(5*time.Second), envs[0].Due)
}

func TestGoneDisables(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusGone) })
	w, _ := f.create(t, webhook.CreateInput{URL: rc.URL})
	dels, err := f.d.Deliver(t.Context(), event(t, "t1"), "")
	require.NoError(t, err)
	require.Len(t, dels, 1)
	assert.Equal(t, webhook.OutcomeDisabled, dels[0].Outcome)
	assert.Empty(t, f.q.all(), "no retry")
	assert.Empty(t, f.dlq.all())
	got, err := f.reg.Get(t.Context(), "t1", w.ID)
	require.NoError(t, err)
	assert.False(t, got.Enabled)
	assert.Contains(t, got.DisabledReason, "410")

	dels, err = f.d.Deliver(t.Context(), event(t, "t1"), "")
	require.NoError(t, err)
	assert.Empty(t, dels)
	assert.Len(t, rc.requests(), 1)

	got, _, err = f.reg.Update(t.Context(), "t1", w.ID, webhook.UpdateInput{Enabled: ptr(true)})
	require.NoError(t, err)
	assert.True(t, got.Enabled)
	assert.Empty(t, got.DisabledReason)
}

func TestRetryAfter(t *testing.T) {
	cases := []struct {
		status int
		header func(now time.Time) string
		want   time.Duration
	}{
		{429, func(time.Time) string { return "120" }, 120 * time.Second},
		{503, func(now time.Time) string { return now.Add(time.Hour).Format(http.TimeFormat) }, time.Hour},
		{429, func(time.Time) string { return "1" }, 5 * time.Second},       // the schedule is longer
		{503, func(time.Time) string { return "" }, 5 * time.Second},        // none
		{429, func(time.Time) string { return "soon" }, 5 * time.Second},    // unreadable
		{429, func(time.Time) string { return "99999999" }, 24 * time.Hour}, // capped
		{500, func(time.Time) string { return "120" }, 5 * time.Second},     // only 429 and 503
		{429, func(now time.Time) string { return now.Format(http.TimeFormat) }, 5 * time.Second},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			f := newFixture(t, testPolicy, nil)
			rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				if v := c.header(f.clk.Now()); v != "" {
					w.Header().Set("Retry-After", v)
				}
				w.WriteHeader(c.status)
			})
			f.create(t, webhook.CreateInput{URL: rc.URL})
			dels, err := f.d.Deliver(t.Context(), event(t, "t1"), "")
			require.NoError(t, err)
			require.Len(t, dels, 1)
			assert.Equal(t, webhook.OutcomeRetrying, dels[0].Outcome)
			assert.Equal(t, c.status, dels[0].StatusCode)
			require.NotNil(t, dels[0].NextRetry)
			assert.Equal(t, c.want, dels[0].NextRetry.Sub(f.clk.Now()))
			require.Len(t, f.q.all(), 1)
			assert.Equal(t, c.want, f.q.all()[0].Delay)
		})
	}
}

func TestRedirectIsAFailure(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	final := newReceiver(t, nil)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, final.URL, http.StatusFound)
	})
	f.create(t, webhook.CreateInput{URL: rc.URL})
	dels, err := f.d.Deliver(t.Context(), event(t, "t1"), "")
	require.NoError(t, err)
	require.Len(t, dels, 1)
	assert.Equal(t, webhook.OutcomeRetrying, dels[0].Outcome)
	assert.Equal(t, http.StatusFound, dels[0].StatusCode)
	assert.Contains(t, dels[0].Error, "redirects are not followed")
	assert.Empty(t, final.requests())
}

// TestSchedule walks every attempt of a failing endpoint, moving the clock
// to each retry's due time: the waits follow the schedule, and the last
// failure is dead-lettered.
func TestSchedule(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusBadGateway) })
	w, _ := f.create(t, webhook.CreateInput{URL: rc.URL})
	ev := event(t, "t1")
	_, err := f.d.Deliver(t.Context(), ev, "")
	require.NoError(t, err)
	for i, wait := range webhook.DefaultSchedule {
		sent := f.q.all()
		require.Len(t, sent, i+1)
		assert.Equal(t, wait, sent[i].Delay, "wait before attempt %d", i+2)
		var env webhook.Envelope
		require.NoError(t, json.Unmarshal(sent[i].Body, &env))
		assert.Equal(t, i+2, env.Attempt)
		// Early: nothing is sent, the envelope goes back to the queue.
		if i == 0 {
			require.NoError(t, f.d.HandleMessage(t.Context(), sent[i].Body))
			assert.Len(t, rc.requests(), 1)
			require.Len(t, f.q.all(), 2)
			f.q.sent = f.q.sent[:1]
		}
		f.clk.Set(env.Due)
		require.NoError(t, f.d.HandleMessage(t.Context(), sent[i].Body))
		assert.Len(t, rc.requests(), i+2)
	}
	assert.Len(t, f.q.all(), len(webhook.DefaultSchedule), "no retry after the last attempt")
	dead := f.dlq.envelopes(t)
	require.Len(t, dead, 1)
	assert.Equal(t, ev.ID, dead[0].Event.ID)
	assert.Equal(t, w.ID, dead[0].WebhookID)
	assert.Equal(t, 8, dead[0].Attempt)
	assert.Equal(t, 502, dead[0].LastStatus)

	log, err := f.reg.Deliveries(t.Context(), "t1", w.ID, 100)
	require.NoError(t, err)
	require.Len(t, log, 8)
	assert.Equal(t, 8, log[0].Attempt)
	assert.Equal(t, webhook.OutcomeDead, log[0].Outcome)
	assert.True(t, log[0].Dead)
	assert.Nil(t, log[0].NextRetry)
	for i, d := range log[1:] {
		assert.Equal(t, 7-i, d.Attempt)
		assert.Equal(t, webhook.OutcomeRetrying, d.Outcome)
		assert.False(t, d.Dead)
	}
	log, err = f.reg.Deliveries(t.Context(), "t1", w.ID, 3)
	require.NoError(t, err)
	assert.Len(t, log, 3)
}

func TestJitter(t *testing.T) {
	for _, c := range []struct {
		r    float64
		want time.Duration
	}{{0, 4500 * time.Millisecond}, {0.999999, 5500 * time.Millisecond}, {0.25, 4750 * time.Millisecond}} {
		f := newFixture(t, testPolicy, func(o *webhook.Options) { o.Rand = func() float64 { return c.r } })
		rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(500) })
		f.create(t, webhook.CreateInput{URL: rc.URL})
		_, err := f.d.Deliver(t.Context(), event(t, "t1"), "")
		require.NoError(t, err)
		require.Len(t, f.q.all(), 1)
		assert.InDelta(t, float64(c.want), float64(f.q.all()[0].Delay), float64(time.Millisecond), "rand %v", c.r)
	}
}

func TestDeliveryRefusesPrivateAddresses(t *testing.T) {
	rc := newReceiver(t, nil)
	port := must(url.Parse(rc.URL)).Port()
	resolver := fakeResolver(map[string][]netip.Addr{"loop.test": {netip.MustParseAddr("127.0.0.1")}})
	// http is allowed (as locally), the allow-list is empty.
	f := newFixture(t, webhook.Policy{AllowHTTP: true}, func(o *webhook.Options) { o.Resolver = resolver })
	f.create(t, webhook.CreateInput{URL: "http://loop.test:" + port + "/hook"})
	dels, err := f.d.Deliver(t.Context(), event(t, "t1"), "")
	require.NoError(t, err)
	require.Len(t, dels, 1)
	assert.Contains(t, dels[0].Error, "refused")
	assert.Contains(t, dels[0].Error, "127.0.0.1")
	assert.Equal(t, webhook.OutcomeRetrying, dels[0].Outcome)
	assert.Empty(t, rc.requests())

	_, _, err = f.reg.Create(t.Context(), "t1", webhook.CreateInput{URL: rc.URL, Events: []string{"*"}})
	assert.ErrorIs(t, err, webhook.ErrInvalid, "a private literal address is refused at registration")
}

func TestPing(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	var fail atomic.Bool
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		if fail.Load() {
			w.WriteHeader(500)
		}
	})
	w, secret := f.create(t, webhook.CreateInput{URL: rc.URL, Events: []string{events.SessionDeleted}, Enabled: ptr(false)})
	del, err := f.d.Test(t.Context(), "t1", w.ID)
	require.NoError(t, err)
	assert.Equal(t, webhook.OutcomeDelivered, del.Outcome)
	reqs := rc.requests()
	require.Len(t, reqs, 1)
	plain, err := webhook.Decrypt(secret, reqs[0].Header.Get("webhook-id"), reqs[0].Body)
	require.NoError(t, err)
	var ev events.Event
	require.NoError(t, json.Unmarshal(plain, &ev))
	assert.Equal(t, events.WebhookTest, ev.Type)
	assert.JSONEq(t, fmt.Sprintf(`{"webhookId":%q,"message":"ping from facelambda"}`, w.ID), string(ev.Data))

	fail.Store(true)
	del, err = f.d.Test(t.Context(), "t1", w.ID)
	require.NoError(t, err)
	assert.Equal(t, webhook.OutcomeFailed, del.Outcome)
	assert.Equal(t, 500, del.StatusCode)
	assert.Empty(t, f.q.all(), "pings are not retried")
	_, err = f.d.Test(t.Context(), "t1", "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)

	// A ping event on the queue is not fanned out.
	dels, err := f.d.Deliver(t.Context(), ev, "")
	require.NoError(t, err)
	assert.Empty(t, dels)
}

func TestRetryOfDeletedWebhookIsDropped(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(500) })
	w, _ := f.create(t, webhook.CreateInput{URL: rc.URL})
	_, err := f.d.Deliver(t.Context(), event(t, "t1"), "")
	require.NoError(t, err)
	env := f.q.all()[0]
	require.NoError(t, f.reg.Delete(t.Context(), "t1", w.ID))
	f.clk.Add(time.Minute)
	require.NoError(t, f.d.HandleMessage(t.Context(), env.Body))
	assert.Len(t, rc.requests(), 1)
	assert.Len(t, f.q.all(), 1)
}

func TestCallback(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	fail := atomic.Bool{}
	fail.Store(true)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		if fail.Load() {
			w.WriteHeader(503)
		}
	})
	require.NoError(t, st.CreateSession(t.Context(), store.Session{
		Tenant: "t1", ID: "s1", CallbackURL: rc.URL + "/cb", Expires: time.Now().Add(time.Hour),
	}))
	f := newFixture(t, testPolicy, func(o *webhook.Options) { o.Callback = webhook.SessionCallback(st) })

	ev, err := events.NewLivenessCompleted("t1", events.LivenessData{SessionID: "s1", Score: 0.97, Live: true})
	require.NoError(t, err)
	require.NoError(t, f.d.HandleMessage(t.Context(), eventJSON(t, ev)))
	reqs := rc.requests()
	require.Len(t, reqs, 1)
	assert.JSONEq(t, string(eventJSON(t, ev)), string(reqs[0].Body), "the event, in the clear")
	assert.Empty(t, reqs[0].Header.Get("webhook-signature"), "no secret, no signature")
	assert.Equal(t, ev.ID, reqs[0].Header.Get("webhook-id"))

	envs := f.q.envelopes(t)
	require.Len(t, envs, 1)
	assert.Equal(t, webhook.CallbackID, envs[0].WebhookID)
	assert.Equal(t, rc.URL+"/cb", envs[0].CallbackURL)
	fail.Store(false)
	f.clk.Set(envs[0].Due)
	require.NoError(t, f.d.HandleMessage(t.Context(), f.q.all()[0].Body))
	assert.Len(t, rc.requests(), 2)
	log, err := f.reg.Deliveries(t.Context(), "t1", webhook.CallbackID, 0)
	require.NoError(t, err)
	require.Len(t, log, 2)
	assert.Equal(t, webhook.OutcomeDelivered, log[0].Outcome)

	// Other events, or sessions without a callback, have none.
	other, err := events.NewFaceCreated("t1", events.FaceData{SessionID: "s1", FaceID: "f1"})
	require.NoError(t, err)
	require.NoError(t, f.d.HandleMessage(t.Context(), eventJSON(t, other)))
	ev2, err := events.NewLivenessCompleted("t1", events.LivenessData{SessionID: "gone"})
	require.NoError(t, err)
	require.NoError(t, f.d.HandleMessage(t.Context(), eventJSON(t, ev2)))
	assert.Len(t, rc.requests(), 2)
}

func TestPoisonMessage(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	for _, body := range []string{`not json`, `{"id":"x"}`, `{"event":{"id":"evt_1"},"webhookId":"w","attempt":1}`} {
		require.NoError(t, f.d.HandleMessage(t.Context(), []byte(body)), body)
	}
	assert.Len(t, f.dlq.all(), 3, "unreadable messages are dead-lettered")
	f.dlq.err = fmt.Errorf("DLQ down")
	assert.Error(t, f.d.HandleMessage(t.Context(), []byte(`nope`)))
}

// TestManyTargetsAreQueued: beyond InlineTargets, each target's first
// attempt gets a message of its own.
func TestManyTargetsAreQueued(t *testing.T) {
	f := newFixture(t, testPolicy, func(o *webhook.Options) { o.InlineTargets = 2 })
	rc := newReceiver(t, nil)
	for range 3 {
		f.create(t, webhook.CreateInput{URL: rc.URL})
	}
	dels, err := f.d.Deliver(t.Context(), event(t, "t1"), rc.URL+"/cb")
	require.NoError(t, err)
	assert.Empty(t, dels)
	assert.Empty(t, rc.requests())
	envs := f.q.envelopes(t)
	require.Len(t, envs, 4)
	callbacks := 0
	for i, env := range envs {
		assert.Equal(t, 1, env.Attempt)
		assert.Zero(t, f.q.all()[i].Delay)
		if env.WebhookID == webhook.CallbackID {
			callbacks++
			assert.Equal(t, rc.URL+"/cb", env.CallbackURL)
		}
		require.NoError(t, f.d.HandleMessage(t.Context(), f.q.all()[i].Body))
	}
	assert.Equal(t, 1, callbacks)
	assert.Len(t, rc.requests(), 4)
	assert.Len(t, f.q.all(), 4, "all delivered, no retry")
}

// failingKey fails to unwrap the data keys of one webhook.
type failingKey struct {
	webhook.SecretKey
	failFor string
}

func (k *failingKey) DataKey(ctx context.Context, tenant, id string, wrapped []byte) ([]byte, error) {
	if id == k.failFor {
		return nil, fmt.Errorf("KMS is unavailable")
	}
	return k.SecretKey.DataKey(ctx, tenant, id, wrapped)
}

// TestUnopenableSecretIsIsolated: a webhook whose secrets cannot be
// opened does not hold back the others; its delivery is queued apart.
func TestUnopenableSecretIsIsolated(t *testing.T) {
	static, err := webhook.NewStaticKey(make([]byte, 32))
	require.NoError(t, err)
	key := &failingKey{SecretKey: static}
	reg := webhook.NewRegistry(newItems(t), key, testPolicy)
	q, clk := &recordQueue{}, newClock()
	d, err := webhook.NewDispatcher(webhook.Options{Registry: reg, Queue: q, Logger: quietLogger(t), Now: clk.Now,
		Rand: func() float64 { return 0.5 }})
	require.NoError(t, err)
	rc := newReceiver(t, nil)
	broken, _, err := reg.Create(t.Context(), "t1", webhook.CreateInput{URL: rc.URL + "/broken", Events: []string{"*"}})
	require.NoError(t, err)
	_, _, err = reg.Create(t.Context(), "t1", webhook.CreateInput{URL: rc.URL + "/fine", Events: []string{"*"}})
	require.NoError(t, err)
	key.failFor = broken.ID

	dels, err := d.Deliver(t.Context(), event(t, "t1"), "")
	require.NoError(t, err)
	require.Len(t, dels, 1)
	assert.Equal(t, webhook.OutcomeDelivered, dels[0].Outcome)
	envs := q.envelopes(t)
	require.Len(t, envs, 1)
	assert.Equal(t, broken.ID, envs[0].WebhookID)
	assert.Equal(t, 1, envs[0].Attempt)
	assert.Equal(t, 5*time.Second, q.all()[0].Delay)

	// Still broken when it is due: the message fails (SQS will deliver it
	// again); once KMS answers, it is delivered.
	env := q.all()[0].Body
	clk.Set(envs[0].Due)
	require.Error(t, d.HandleMessage(t.Context(), env))
	key.failFor = ""
	require.NoError(t, d.HandleMessage(t.Context(), env))
	assert.Len(t, rc.requests(), 2)
}
