package provision

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Report is what `vmnode provision` prints.
type Report struct {
	Profile   string     `json:"profile"`
	Root      string     `json:"root"`
	PlanOnly  bool       `json:"plan_only"`
	Plan      []StepPlan `json:"plan"`              // before applying
	Applied   []StepPlan `json:"applied,omitempty"` // what was changed
	Failed    *Failure   `json:"failed,omitempty"`  // the step that stopped the run
	Replan    []StepPlan `json:"replan,omitempty"`  // after applying; empty when converged
	Converged bool       `json:"converged"`         // nothing left to do
	Backups   string     `json:"backups,omitempty"` // where the replaced files are kept
	Notes     []string   `json:"notes,omitempty"`   // what the operator still has to do
}

// Failure names the failing step and the state it left.
type Failure struct {
	Step  string `json:"step"`
	Error string `json:"error"`
	State string `json:"state"`
}

// NewReport builds the report of a plan and, unless planOnly, an apply.
func NewReport(profile, root string, plan []StepPlan, out *Outcome) Report {
	r := Report{Profile: profile, Root: root, PlanOnly: out == nil, Plan: plan}
	for _, p := range plan {
		for _, n := range p.Notes {
			if !slices.Contains(r.Notes, n) {
				r.Notes = append(r.Notes, n)
			}
		}
	}
	if out == nil {
		r.Converged = allEmpty(plan)
		return r
	}
	r.Applied, r.Replan, r.Backups, r.Converged = out.Applied, pending(out.Replan), out.Backups, out.Converged()
	if out.Err != nil {
		r.Failed = &Failure{Step: out.Failed, Error: out.Err.Error(), State: out.State}
	}
	return r
}

// ExitCode is 0 when converged, 1 when a step failed or changes remain.
func (r Report) ExitCode() int {
	if r.Failed != nil || (!r.PlanOnly && !r.Converged) {
		return 1
	}
	return 0
}

// WriteJSON renders the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText renders the report for people.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "vmnode provision: profile %s, root %s\n\n", r.Profile, r.Root)
	if r.PlanOnly {
		b.WriteString("plan (nothing is changed):\n")
	} else {
		b.WriteString("plan:\n")
	}
	for _, p := range r.Plan {
		writeStep(&b, p)
	}
	if !r.PlanOnly {
		b.WriteString("\n")
		switch {
		case r.Failed != nil:
			fmt.Fprintf(&b, "FAILED at step %s: %s\n  %s\n", r.Failed.Step, r.Failed.Error, r.Failed.State)
		case r.Converged:
			b.WriteString("applied; the re-plan is empty: the host is converged\n")
		default:
			b.WriteString("applied, but the re-plan still has changes:\n")
			for _, p := range r.Replan {
				writeStep(&b, p)
			}
		}
		var names []string
		for _, p := range r.Applied {
			names = append(names, fmt.Sprintf("%s (%d)", p.Step, len(p.Changes)))
		}
		if len(names) > 0 {
			fmt.Fprintf(&b, "changed: %s\n", strings.Join(names, ", "))
		} else if r.Failed == nil {
			b.WriteString("changed: nothing\n")
		}
		if r.Backups != "" {
			fmt.Fprintf(&b, "backups: %s (undo with vmnode provision --rollback)\n", r.Backups)
		}
	} else if r.Converged {
		b.WriteString("\nnothing to do: the host is converged\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeStep(b *strings.Builder, p StepPlan) {
	if p.Empty() {
		fmt.Fprintf(b, "  %-9s ok\n", p.Step)
		return
	}
	fmt.Fprintf(b, "  %-9s %d change(s)\n", p.Step, len(p.Changes))
	for _, c := range p.Changes {
		for _, line := range strings.Split(c.String(), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
}

func allEmpty(plans []StepPlan) bool {
	for _, p := range plans {
		if !p.Empty() {
			return false
		}
	}
	return true
}

func pending(plans []StepPlan) []StepPlan {
	var out []StepPlan
	for _, p := range plans {
		if !p.Empty() {
			out = append(out, p)
		}
	}
	return out
}
