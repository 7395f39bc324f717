package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/facelambda/facelambda/internal/core/events"
)

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
