package firewall

import (
	"fmt"
	"log/slog"

	"github.com/vmnode/vmnode/provision"
)

// StepConfig configures the firewall step.
type StepConfig struct {
	// NetNS is an open file descriptor of the network namespace to work in
	// (e.g. of /run/netns/NAME); 0 means the caller's namespace.
	NetNS int
	// Logger receives one line per applied batch; nil discards.
	Logger *slog.Logger
}

var _ provision.Step = (*Step)(nil)

// Name is the step's name in plans, reports and --only/--skip.
func (s *Step) Name() string { return "firewall" }

func (s *Step) logger() *slog.Logger {
	if s.cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.cfg.Logger.With("component", "firewall")
}

// plan compares the kernel's table (cur, exists) with the desired one.
func plan(name string, desired, cur Ruleset, exists bool) provision.StepPlan {
	p := provision.StepPlan{Step: name}
	if exists && Equal(cur, desired) {
		return p
	}
	c := provision.Change{Kind: "rules", Target: Target}
	if !exists {
		c.Summary = fmt.Sprintf("create table %s: %d rules, policy %s", Target, len(desired.Rules), desired.Policy)
		c.Diff = renderTable(desired)
	} else {
		c.Summary = fmt.Sprintf("replace table %s in one atomic batch: %d rules, policy %s (now %d rules, policy %s)",
			Target, len(desired.Rules), desired.Policy, len(cur.Rules), orUnknown(string(cur.Policy)))
		c.Diff = diffLines(renderTable(cur), renderTable(desired))
	}
	p.Changes = []provision.Change{c}
	if desired.Policy == PolicyDrop {
		p.Notes = append(p.Notes, "policy drop: inbound packets to ports the profile does not list are dropped; "+
			"loopback, established connections, ICMP essentials and 22/tcp (SSH) stay open")
	}
	return p
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
