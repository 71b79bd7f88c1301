package preflight

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vmnode/vmnode/preflight/host"
)

// DefaultTimeout bounds each check.
const DefaultTimeout = 5 * time.Second

// Runner runs checks concurrently, each under its own timeout. A check that
// hangs past its timeout or panics yields an error result and never holds up
// or breaks the others.
type Runner struct {
	Timeout time.Duration // per check; DefaultTimeout when zero
	Now     func() time.Time
}

// Run runs every check against h and returns the results in check order.
func (r Runner) Run(ctx context.Context, h *host.Host, checks []Check) []Result {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	results := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runOne(ctx, h, c, timeout, now)
		}()
	}
	wg.Wait()
	return results
}

func runOne(ctx context.Context, h *host.Host, c Check, timeout time.Duration, now func() time.Time) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := now()
	done := make(chan Result, 1) // buffered: a check finishing late must not block
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- Errorf("check panicked: %v (a bug in vmnode: please report it)", p)
			}
		}()
		done <- c.Run(ctx, h)
	}()
	var res Result
	select {
	case res = <-done:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			res = Errorf("timed out after %s", timeout).Remedy("raise --timeout, or find what blocks the check (a hung command or network peer)")
		} else {
			res = Errorf("cancelled: %v", ctx.Err())
		}
	}
	res.ID, res.Title, res.Duration = c.ID(), c.Title(), now().Sub(start)
	if res.Status == "" {
		res = Errorf("check returned no status")
		res.ID, res.Title = c.ID(), c.Title()
	}
	return res
}

// Collect runs the checks and builds the report, applying the ignore list.
func (r Runner) Collect(ctx context.Context, h *host.Host, profile string, checks []Check, ign Ignore) *Report {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	rep := &Report{
		Profile:   profile,
		Hostname:  h.Hostname,
		Root:      h.Root,
		Offline:   h.Offline,
		StartedAt: start,
	}
	if h.Address.IsValid() {
		rep.Address = h.Address.String()
	}
	rep.Results = r.Run(ctx, h, checks)
	rep.Notes = ign.Apply(rep.Results, start)
	rep.Duration = now().Sub(start)
	return rep
}
