package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/facelambda/facelambda/internal/core/events"
)

// Local runs a Dispatcher in the local server: its Handle is the handler
// of an events.Local publisher, and retries wait on timers instead of SQS
// delays (same schedule, same envelopes). Retries pending when the
// process stops are lost; there is no dead-letter queue (the log says
// "dead").
type Local struct {
	d      *Dispatcher
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	timers map[*time.Timer]struct{}
	closed bool
}

// errLocalClosed reports a retry scheduled after Close.
var errLocalClosed = errors.New("local webhook dispatcher closed")

// NewLocal returns a local dispatcher (o.Queue is set to its timers).
func NewLocal(o Options) (*Local, error) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Local{ctx: ctx, cancel: cancel, timers: make(map[*time.Timer]struct{})}
	o.Queue = localQueue{l}
	d, err := NewDispatcher(o)
	if err != nil {
		cancel()
		return nil, err
	}
	l.d = d
	return l, nil
}

// Dispatcher returns the dispatcher (for Test).
func (l *Local) Dispatcher() *Dispatcher { return l.d }

// Handle delivers an event: the handler of events.NewLocal.
func (l *Local) Handle(ctx context.Context, ev events.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return l.d.HandleMessage(ctx, body)
}

// Pending returns the number of retries waiting on a timer.
func (l *Local) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.timers)
}

// Close cancels the pending retries and waits, until ctx is done, for
// those running.
func (l *Local) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	for t := range l.timers {
		t.Stop()
	}
	clear(l.timers)
	l.mu.Unlock()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	defer l.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type localQueue struct{ l *Local }

func (q localQueue) Send(_ context.Context, body []byte, delay time.Duration) error {
	l := q.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errLocalClosed
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return
		}
		delete(l.timers, t)
		l.wg.Add(1)
		l.mu.Unlock()
		defer l.wg.Done()
		if err := l.d.HandleMessage(l.ctx, body); err != nil {
			l.d.log.Error("webhook: local retry failed", "err", err)
		}
	})
	l.timers[t] = struct{}{}
	return nil
}
