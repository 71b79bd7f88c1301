package provision

import (
	"context"
	"fmt"

	"github.com/vmnode/vmnode/provision/files"
)

// Plan asks every step what it would change. It writes nothing.
func Plan(ctx context.Context, steps []Step) ([]StepPlan, error) {
	plans := make([]StepPlan, 0, len(steps))
	for _, s := range steps {
		p, err := s.Plan(ctx)
		if err != nil {
			return plans, fmt.Errorf("plan %s: %w", s.Name(), err)
		}
		p.Step = s.Name()
		plans = append(plans, p)
	}
	return plans, nil
}

// Outcome is what an apply did.
type Outcome struct {
	Applied []StepPlan // steps that changed something, in order
	Failed  string     // the step that failed, "" when none did
	Err     error      // why it failed
	State   string     // what the failed step left behind, for people
	Replan  []StepPlan // the plan after applying: empty when converged
	Backups string     // host path of this run's file backups, "" when no file changed
}

// Converged reports whether nothing failed and the re-plan is empty.
func (o Outcome) Converged() bool {
	if o.Err != nil {
		return false
	}
	for _, p := range o.Replan {
		if !p.Empty() {
			return false
		}
	}
	return true
}

// Apply runs the steps in order: plan, apply, and on failure restore the
// files the failing step changed and stop. Steps already applied stay
// applied and are reported. Then it re-plans, to verify.
func Apply(ctx context.Context, steps []Step, ed *files.Editor) Outcome {
	var out Outcome
	for _, s := range steps {
		p, err := s.Plan(ctx)
		if err != nil {
			out.Failed, out.Err, out.State = s.Name(), fmt.Errorf("plan %s: %w", s.Name(), err), "nothing was changed by this step"
			break
		}
		p.Step = s.Name()
		if p.Empty() {
			continue
		}
		mark := ed.Mark()
		if err := s.Apply(ctx, p); err != nil {
			out.Failed, out.Err = s.Name(), fmt.Errorf("apply %s: %w", s.Name(), err)
			if rerr := ed.RollbackTo(mark); rerr != nil {
				out.State = fmt.Sprintf("restoring its files failed too (%v): see the backups in %s", rerr, ed.BackupDir())
			} else {
				out.State = "its changes were undone; the host is as before this step"
			}
			break
		}
		out.Applied = append(out.Applied, p)
	}
	if len(ed.Changed()) > 0 {
		out.Backups = ed.BackupDir()
	}
	if out.Err != nil {
		return out
	}
	replan, err := Plan(ctx, steps)
	if err != nil {
		out.Failed, out.Err, out.State = "verify", err, "all steps were applied; the re-plan failed"
	}
	out.Replan = replan
	return out
}
