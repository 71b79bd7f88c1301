package ha

import (
	"errors"
	"fmt"
	"time"
)

// Timers are the HA timings of a cluster. Every host must use the same
// values: the safety argument (see the package documentation) compares one
// host's FenceTimeout with another host's FailoverDelay.
type Timers struct {
	// Detection is how long gossip takes to declare an unreachable host
	// failed (Serf LAN defaults: about 5 to 6 s). Safety does not depend on
	// it; it delays a failover (a passive host waits for its active host to
	// be failed, not merely slow) and it is part of Predict.
	Detection time.Duration `json:"detection"`
	// Skew bounds the asynchrony between two hosts. The agent exchanges
	// reports with every peer at least twice per Skew, a peer whose last
	// report is older than Skew is out of contact, and the agent runs Decide
	// and executes a Destroy within Skew of the moment it is due.
	Skew time.Duration `json:"skew"`
	// FenceTimeout is the lease: a host that has not heard from a majority
	// of the cluster for FenceTimeout destroys its running HA VMs.
	FenceTimeout time.Duration `json:"fence_timeout"`
	// FailoverDelay is how long a majority must have heard nothing from a
	// host before another host starts a VM that host may be running. It is
	// at least FenceTimeout + Watchdog + 2×Skew (MinFailoverDelay), so the
	// silent host has fenced first, or its watchdog has.
	FailoverDelay time.Duration `json:"failover_delay"`
	// Watchdog is the timeout of the watchdog (/dev/watchdog, which reboots
	// the host) that stops the host's QEMUs when the agent hangs. The agent
	// pets it after every Decide while PetWatchdog allows: while it holds
	// the lease or runs no HA VM. Zero: no watchdog, and an agent that hangs
	// while its QEMUs keep running is not covered.
	Watchdog time.Duration `json:"watchdog"`
	// MaxRestarts is how many times the active host restarts a VM that
	// died before it gives up and lets the passive host take over.
	MaxRestarts int `json:"max_restarts"`
}

// DefaultTimers suit Serf's LAN profile (failure detection in about 5 to
// 6 s) with reports exchanged every 500 ms: a failover starts within
// Predict() = 12 s of the active host's death, and the VM then boots.
//
// FenceTimeout 5 s rides out a few lost reports; Watchdog 3 s tolerates an
// agent stall of that long; FailoverDelay 11 s is MinFailoverDelay
// (5 + 3 + 2×1 = 10 s) plus 1 s to spare for a destroy that is slow.
func DefaultTimers() Timers {
	return Timers{
		Detection:     6 * time.Second,
		Skew:          time.Second,
		FenceTimeout:  5 * time.Second,
		FailoverDelay: 11 * time.Second,
		Watchdog:      3 * time.Second,
		MaxRestarts:   3,
	}
}

// Tuned is for a fast gossip profile (probe every 200 ms, failure detection
// in about 0.7 s) on a dedicated cluster network, with reports exchanged
// every 100 ms: a failover starts within Predict() = 2.75 s.
//
// The watchdog sets the floor: /dev/watchdog counts whole seconds, so
// Watchdog is 1 s, and FailoverDelay is FenceTimeout 1 s + Watchdog 1 s +
// 2×Skew 0.5 s = 2.5 s. Without a watchdog 1.5 s would be safe, but an agent
// that hangs would not be covered.
func Tuned() Timers {
	return Timers{
		Detection:     700 * time.Millisecond,
		Skew:          250 * time.Millisecond,
		FenceTimeout:  time.Second,
		FailoverDelay: 2500 * time.Millisecond,
		Watchdog:      time.Second,
		MaxRestarts:   3,
	}
}

// MinFailoverDelay is the shortest FailoverDelay that is safe with these
// timers: FenceTimeout + Watchdog + 2×Skew. A host cut off from the
// majority runs its VMs until FenceTimeout after it last heard from it; if
// its agent hangs just before fencing, its watchdog stops them up to
// Watchdog later; the reports by which the other hosts learn of the silence
// are up to Skew old, and the fence itself may take up to Skew.
func (t Timers) MinFailoverDelay() time.Duration { return t.FenceTimeout + t.Watchdog + 2*t.Skew }

// Predict is how long after an active host dies its passive host starts the
// VM, the boot not included: the later of gossip declaring it failed and a
// majority having heard nothing from it for FailoverDelay, plus one Skew
// for the reports that say so to arrive.
func (t Timers) Predict() time.Duration { return max(t.Detection, t.FailoverDelay) + t.Skew }

// Validate reports every timer that breaks a safety rule, each with the
// reason.
func (t Timers) Validate() error {
	var errs []error
	positive := []struct {
		name string
		d    time.Duration
	}{{"detection", t.Detection}, {"skew", t.Skew}, {"fence_timeout", t.FenceTimeout}, {"failover_delay", t.FailoverDelay}}
	for _, p := range positive {
		if p.d <= 0 {
			errs = append(errs, fmt.Errorf("%s %v must be positive", p.name, p.d))
		}
	}
	if t.Watchdog < 0 {
		errs = append(errs, fmt.Errorf("watchdog %v must be positive, or 0 for none", t.Watchdog))
	}
	if t.MaxRestarts < 0 {
		errs = append(errs, fmt.Errorf("max_restarts %d must not be negative", t.MaxRestarts))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if t.FenceTimeout < 2*t.Skew {
		errs = append(errs, fmt.Errorf("fence_timeout %v must be at least 2×skew (%v): a host would fence its VMs whenever one report is late", t.FenceTimeout, 2*t.Skew))
	}
	if t.Watchdog > 0 && t.Watchdog <= t.Skew {
		errs = append(errs, fmt.Errorf("watchdog %v must be longer than skew %v: the agent pets it once per Decide, up to skew apart, and it would fire on a working agent", t.Watchdog, t.Skew))
	}
	if t.FailoverDelay < t.MinFailoverDelay() {
		errs = append(errs, fmt.Errorf("failover_delay %v must be at least fence_timeout %v + watchdog %v + 2×skew %v = %v: a host cut off from the majority may run its VMs until fence_timeout after it last heard from it (watchdog later if its agent hangs), and the hosts deciding a failover learn of its silence up to 2×skew late; a shorter delay lets a VM run on two hosts",
			t.FailoverDelay, t.FenceTimeout, t.Watchdog, 2*t.Skew, t.MinFailoverDelay()))
	}
	return errors.Join(errs...)
}
