package agent

import (
	"context"
	"slices"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks"
	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/runtime/cluster"
)

// localReport runs the profile's checks on this host, with the configured
// waivers applied.
func (a *Agent) localReport(ctx context.Context) *preflight.Report {
	a.mu.Lock()
	cfg, prof := a.cfg, a.prof
	a.mu.Unlock()
	var ign preflight.Ignore
	for _, w := range cfg.Preflight.Ignore {
		ign.Waivers = append(ign.Waivers, preflight.Waiver{ID: w.ID, Until: w.Until.Time, Reason: w.Reason})
	}
	return preflight.Runner{Timeout: cfg.Preflight.Timeout}.Collect(ctx, a.host, prof.Name, checks.For(prof), ign)
}

// checkHealth re-runs the local checks and publishes the summary in the
// tags, so the scheduler can avoid a host that drifted.
func (a *Agent) checkHealth(ctx context.Context) {
	if !a.checking.TryLock() {
		return
	}
	defer a.checking.Unlock()
	rep := a.localReport(ctx)
	h := summarize(rep)
	a.mu.Lock()
	old := a.health
	a.health = h
	a.mu.Unlock()
	if old.Status != h.Status || !slices.Equal(old.Failing, h.Failing) {
		a.log.Info("health changed", "from", old.Status, "to", h.Status, "failing", h.Failing)
		if a.cluster != nil {
			if err := a.cluster.SetTags(func(t *cluster.Tags) { t.Health, t.Failing = h.Status, h.Failing }); err != nil {
				a.log.Warn("cannot publish health", "err", err)
			}
		}
	}
	a.status()
}

// summarize reduces a report to its worst status and the failing checks
// (those not waived).
func summarize(rep *preflight.Report) api.Health {
	h := api.Health{Status: string(preflight.Pass), Counts: map[string]int{}, CheckedAt: rep.StartedAt.Add(rep.Duration)}
	rank := map[preflight.Status]int{preflight.Pass: 0, preflight.Skip: 0, preflight.Warn: 1, preflight.Error: 2, preflight.Fail: 3}
	worst := preflight.Pass
	for _, r := range rep.Results {
		h.Counts[string(r.Status)]++
		if r.Ignored {
			continue
		}
		if rank[r.Status] > rank[worst] {
			worst = r.Status
		}
		if r.Failed() {
			h.Failing = append(h.Failing, r.ID)
		}
	}
	h.Status = string(worst)
	return h
}
