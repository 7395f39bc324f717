package health_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/facelambda/facelambda/internal/core/health"
)

type pinger struct{ err error }

func (p *pinger) Ping(context.Context) error { return p.err }

func TestRun(t *testing.T) {
	ok := func(context.Context) error { return nil }
	bad := func(context.Context) error { return errors.New("down") }
	tests := []struct {
		name       string
		components []health.Component
		status     string
		want       map[string]string
	}{
		{name: "all answer", components: []health.Component{{Name: "models", Check: ok}, {Name: "records", Check: health.Ping(&pinger{})}},
			status: "ok", want: map[string]string{"models": "ok", "records": "ok"}},
		{name: "one fails", components: []health.Component{{Name: "models", Check: ok}, {Name: "blobs", Check: bad}},
			status: "error", want: map[string]string{"models": "ok", "blobs": "error"}},
		{name: "store fails", components: []health.Component{{Name: "records", Check: health.Ping(&pinger{err: errors.New("x")})}},
			status: "error", want: map[string]string{"records": "error"}},
		{name: "not configured", components: []health.Component{{Name: "models"}, {Name: "records", Check: health.Ping(nil)}},
			status: "error", want: map[string]string{"models": "not configured", "records": "not configured"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := health.Run(context.Background(), "1.2.3", tc.components...)
			assert.Equal(t, tc.status, r.Status)
			assert.Equal(t, tc.status == "ok", r.OK())
			assert.Equal(t, "1.2.3", r.Version)
			assert.Equal(t, tc.want, r.Components)
		})
	}
}
