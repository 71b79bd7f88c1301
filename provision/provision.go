// Package provision makes a host conform to a profile: plan first, apply
// idempotently, re-plan to verify. Each Step owns one concern (firewall,
// services, selinux, hosts, resolver, time) and lives in its own file or
// sub-package; the files/ package does the atomic, backed-up edits they share.
package provision

import (
	"context"
	"fmt"
	"strings"
)

// Step is one named, idempotent unit of provisioning.
type Step interface {
	Name() string
	// Plan says what Apply would change; an empty plan means converged.
	// Plan never writes.
	Plan(ctx context.Context) (StepPlan, error)
	// Apply makes the changes of a plan made just before. On error the step
	// restores what it changed, so the host is left as before the step.
	Apply(ctx context.Context, plan StepPlan) error
}

// StepPlan is what one step would change.
type StepPlan struct {
	Step    string   `json:"step"`
	Changes []Change `json:"changes"`
	Notes   []string `json:"notes,omitempty"` // e.g. "reboot to finish disabling SELinux"
}

// Empty reports whether the step is converged.
func (p StepPlan) Empty() bool { return len(p.Changes) == 0 }

// Change is one change a step makes.
type Change struct {
	Kind    string `json:"kind"`           // "file", "rules", "unit"
	Target  string `json:"target"`         // a path, a table, a unit name
	Summary string `json:"summary"`        // one line for people
	Diff    string `json:"diff,omitempty"` // unified diff, rule listing, or state change
}

func (c Change) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", c.Kind, c.Target, c.Summary)
	if c.Diff != "" {
		b.WriteString("\n")
		for _, line := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
