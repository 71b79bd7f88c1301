// Package preflight runs read-only checks against a host and collects their
// results into a Report. The checks live in preflight/checks, the host view
// in preflight/host, the renderers in preflight/format.
package preflight

import (
	"context"

	"github.com/vmnode/vmnode/preflight/host"
)

// Check is one requirement. Run must not write to the host, must honour ctx,
// and reports "could not evaluate" as Error, never by panicking.
type Check interface {
	ID() string    // stable, e.g. "cpu.virtualization"
	Title() string // short, for people
	Run(ctx context.Context, h *host.Host) Result
}

// Func adapts a function to Check.
type Func struct {
	CheckID    string
	CheckTitle string
	Fn         func(ctx context.Context, h *host.Host) Result
}

// ID implements Check.
func (f Func) ID() string { return f.CheckID }

// Title implements Check.
func (f Func) Title() string { return f.CheckTitle }

// Run implements Check.
func (f Func) Run(ctx context.Context, h *host.Host) Result { return f.Fn(ctx, h) }
