package firewall

import (
	"context"
	"fmt"

	"github.com/google/nftables"

	"github.com/vmnode/vmnode/provision"
)

// Step is the provision step "firewall": it makes table inet vmnode equal
// to a desired Ruleset.
type Step struct {
	desired Ruleset
	cfg     StepConfig
	conn    *nftables.Conn
	// beforeFlush, for tests, adds to the batch before it is sent.
	beforeFlush func(*nftables.Conn, *nftables.Table)
}

// NewStep returns the step for desired. It does no I/O.
func NewStep(desired Ruleset, cfg StepConfig) *Step {
	conn, _ := nftables.New(nftables.WithNetNSFd(cfg.NetNS)) // cannot fail: not a lasting connection
	return &Step{desired: desired, cfg: cfg, conn: conn}
}

// Plan reads table inet vmnode and returns no change when it equals the
// desired one, else one "rules" change with a listing or a diff.
func (s *Step) Plan(ctx context.Context) (provision.StepPlan, error) {
	if err := ctx.Err(); err != nil {
		return provision.StepPlan{}, err
	}
	cur, exists, err := Current(s.conn)
	if err != nil {
		return provision.StepPlan{}, fmt.Errorf("firewall: %w", err)
	}
	return plan(s.Name(), s.desired, cur, exists), nil
}

// Apply rebuilds the table when plan has changes. On error nothing changed:
// the batch is atomic.
func (s *Step) Apply(ctx context.Context, p provision.StepPlan) error {
	if p.Empty() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := apply(s.conn, s.desired, s.beforeFlush)
	if err != nil {
		return fmt.Errorf("firewall: %w", err)
	}
	s.logger().Info("replaced nftables table", "table", Target, "rules", len(s.desired.Rules), "policy", s.desired.Policy, "netlink_messages", n)
	return nil
}
