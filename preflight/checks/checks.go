// Package checks is the registry of preflight checks: it gathers the checks
// of every area (one sub-package each) for a profile. The IDs are a contract
// used in ignore lists, waivers and automation: renaming one is a breaking
// change.
package checks

import (
	"slices"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/cpu"
	"github.com/vmnode/vmnode/preflight/checks/disk"
	"github.com/vmnode/vmnode/preflight/checks/firewall"
	"github.com/vmnode/vmnode/preflight/checks/hardware"
	"github.com/vmnode/vmnode/preflight/checks/memory"
	"github.com/vmnode/vmnode/preflight/checks/network"
	"github.com/vmnode/vmnode/preflight/checks/system"
	"github.com/vmnode/vmnode/preflight/checks/timesync"
	"github.com/vmnode/vmnode/profiles"
)

// areas lists each area's constructor. A constructor does no I/O.
var areas = []func(*profiles.Profile) []preflight.Check{
	cpu.Checks,
	memory.Checks,
	disk.Checks,
	system.Checks,
	timesync.Checks,
	network.Checks,
	firewall.Checks,
	hardware.Checks,
}

// For returns the checks the profile enables, in report order.
func For(p *profiles.Profile) []preflight.Check {
	var out []preflight.Check
	for _, area := range areas {
		for _, c := range area(p) {
			if p.Enabled(c.ID()) {
				out = append(out, c)
			}
		}
	}
	return out
}

// IDs lists every known check ID, sorted.
func IDs() []string {
	var ids []string
	for _, area := range areas {
		for _, c := range area(&profiles.Profile{}) {
			ids = append(ids, c.ID())
		}
	}
	slices.Sort(ids)
	return ids
}
