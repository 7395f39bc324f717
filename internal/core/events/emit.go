package events

import (
	"context"
	"log/slog"
)

// Emit publishes the event an events constructor made (ev, err) on p; a
// failure is logged, never returned: the call that caused the event has
// already happened. A nil p publishes nothing.
func Emit(ctx context.Context, p Publisher, ev Event, err error) {
	if p == nil {
		return
	}
	if err == nil {
		err = p.Publish(context.WithoutCancel(ctx), ev)
	}
	if err != nil {
		slog.WarnContext(ctx, "event not published", "type", ev.Type, "err", err)
	}
}
