// Package health reports whether the parts a function depends on answer:
// its models and its stores.
package health

import (
	"context"
	"time"
)

// Check proves one component answers; nil means not configured.
type Check func(ctx context.Context) error

// Component is a named check.
type Component struct {
	Name  string
	Check Check
}

// Report is the health report: ok only when every component answers.
type Report struct {
	Status     string            `json:"status"`
	Version    string            `json:"version"`
	Components map[string]string `json:"components"`
}

// OK tells whether every component answered.
func (r Report) OK() bool { return r.Status == "ok" }

// Timeout bounds a whole report.
const Timeout = 5 * time.Second

// Run checks the components within Timeout: each is "ok", "error" or
// "not configured" (which fails the report too).
func Run(ctx context.Context, version string, components ...Component) Report {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	m := Report{Status: "ok", Version: version, Components: map[string]string{}}
	for _, c := range components {
		switch {
		case c.Check == nil:
			m.Components[c.Name] = "not configured"
			m.Status = "error"
		case c.Check(ctx) != nil:
			m.Components[c.Name] = "error"
			m.Status = "error"
		default:
			m.Components[c.Name] = "ok"
		}
	}
	return m
}

// Ping is the check of a store (nil when there is none).
func Ping(p interface{ Ping(context.Context) error }) Check {
	if p == nil {
		return nil
	}
	return p.Ping
}
