package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// ErrClosed reports a Publish to a closed Local publisher.
var ErrClosed = errors.New("event publisher closed")

// Handler handles one event (for the local server, the webhook
// dispatcher's).
type Handler func(ctx context.Context, ev Event) error

// LocalOptions configures a Local publisher.
type LocalOptions struct {
	// Workers is the number of goroutines calling the handler (default 2).
	Workers int
	// Buffer is the number of events queued before Publish waits (default
	// 256).
	Buffer int
	// Logger receives handler errors (slog.Default() by default).
	Logger *slog.Logger
}

// Local is the in-process publisher of the local server: a bounded queue
// and workers calling a handler. Publish waits while the queue is full
// (until its context is done). Events still queued when the process
// stops are lost: the local server is not durable.
type Local struct {
	handler Handler
	log     *slog.Logger
	ch      chan Event
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu     sync.RWMutex
	closed bool
}

var _ Publisher = (*Local)(nil)

// NewLocal starts the workers of a Local publisher.
func NewLocal(handler Handler, opts LocalOptions) *Local {
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Local{handler: handler, log: opts.Logger, ch: make(chan Event, opts.Buffer), ctx: ctx, cancel: cancel}
	for range opts.Workers {
		l.wg.Go(l.work)
	}
	return l
}

func (l *Local) work() {
	for ev := range l.ch {
		if err := l.handle(ev); err != nil {
			l.log.Error("event handler failed", "event_id", ev.ID, "type", ev.Type, "tenant", ev.Tenant, "err", err)
		}
	}
}

func (l *Local) handle(ev Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return l.handler(l.ctx, ev)
}

// Publish queues the event.
func (l *Local) Publish(ctx context.Context, ev Event) error {
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return fmt.Errorf("publish %s %s: %w", ev.Type, ev.ID, ErrClosed)
	}
	select {
	case l.ch <- ev:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("publish %s %s: %w", ev.Type, ev.ID, ctx.Err())
	}
}

// Close stops accepting events and waits for the queued ones to be
// handled, until ctx is done: then the handlers' context is cancelled and
// Close returns ctx's error once they have returned.
func (l *Local) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.ch)
	l.mu.Unlock()

	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		l.cancel()
		return nil
	case <-ctx.Done():
		l.cancel()
		<-done
		return ctx.Err()
	}
}
