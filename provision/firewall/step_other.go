//go:build !linux

package firewall

import (
	"context"
	"fmt"

	"github.com/vmnode/vmnode/provision"
)

// Step is the provision step "firewall"; nftables exists only on Linux.
type Step struct {
	desired Ruleset
	cfg     StepConfig
}

// NewStep returns the step for desired. It does no I/O.
func NewStep(desired Ruleset, cfg StepConfig) *Step { return &Step{desired: desired, cfg: cfg} }

// Plan fails: nftables is Linux-only.
func (s *Step) Plan(context.Context) (provision.StepPlan, error) {
	return provision.StepPlan{}, fmt.Errorf("firewall: %w: nftables is Linux-only", ErrNoKernelSupport)
}

// Apply fails: nftables is Linux-only.
func (s *Step) Apply(context.Context, provision.StepPlan) error {
	return fmt.Errorf("firewall: %w: nftables is Linux-only", ErrNoKernelSupport)
}
