package ha

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Status is a member's state in gossip (Serf).
type Status string

// Member states. Whatever its status, a member counts as a host of the
// cluster until an operator removes it. Any other value (Serf's leaving,
// unknown) is neither alive, failed nor left: no contact, and no failover
// from it.
const (
	Alive  Status = "alive"
	Failed Status = "failed"
	// Left is a graceful leave. The agent leaves only after its HA VMs are
	// stopped or migrated away, so the passive hosts of its VMs need not
	// wait for gossip to declare it failed. It still counts as a host, and
	// it is still waited for like any silent host: it may have come back
	// where this host cannot see it.
	Left Status = "left"
)

// Desired is whether the user wants the VM to run.
type Desired string

// Desired states. Anything but DesiredRunning keeps the VM down.
const (
	DesiredRunning Desired = "running"
	DesiredStopped Desired = "stopped"
)

// Record is the HA record of a VM: who runs it, who takes over, whether it
// should run. Every host that defines the VM keeps a copy in the domain's
// metadata (domain.Meta: Epoch, Owner as Active, HA.Passive; Desired
// belongs there too). Every change makes a new record with a higher Epoch,
// and the newest record wins (Newer).
type Record struct {
	// Epoch is the generation. A failover or a switchover increments it; so
	// must any change the API makes (passive, desired state).
	Epoch   uint64  `json:"epoch"`
	Active  string  `json:"active"`
	Passive string  `json:"passive,omitempty"`
	Desired Desired `json:"desired"`
}

// Newer reports whether r supersedes o: a higher epoch, or on a tie (two
// records made without hearing of each other) the greater Active, then
// Passive, then Desired, so that every host picks the same one and a stop
// wins over a start.
func (r Record) Newer(o Record) bool {
	return cmp.Or(cmp.Compare(r.Epoch, o.Epoch), cmp.Compare(r.Active, o.Active),
		cmp.Compare(r.Passive, o.Passive), cmp.Compare(r.Desired, o.Desired)) > 0
}

func (r Record) String() string {
	return fmt.Sprintf("epoch %d, active %s, passive %s, %s", r.Epoch, orNone(r.Active), orNone(r.Passive), orNone(string(r.Desired)))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Local is what libvirt says about the VM on this host.
type Local struct {
	// Running: a QEMU runs the VM here.
	Running bool `json:"running"`
	// Epoch is the epoch of the running copy, from its live metadata.
	Epoch uint64 `json:"epoch,omitempty"`
	// DiedAt is when the VM stopped without being asked to (crash, QEMU
	// killed); zero if it did not or has been started since. A guest that
	// powers itself off is a stop: the API records Desired stopped.
	DiedAt time.Time `json:"died_at,omitzero"`
	// Restarts counts the Restart actions executed here since the last
	// Start; the agent resets it once the VM has stayed up for a while.
	Restarts int `json:"restarts,omitempty"`
}

// VM is an HA VM defined on this host.
type VM struct {
	Name string `json:"name"`
	// Record is this host's copy of the HA record.
	Record Record `json:"record"`
	Local  Local  `json:"local"`
	// Switchover: an operator asked to move the VM to its passive host.
	// The agent clears it once the migration is done.
	Switchover bool `json:"switchover,omitempty"`
}

// Seen is one VM in a peer's report.
type Seen struct {
	Record  Record `json:"record"`
	Running bool   `json:"running"`
	Epoch   uint64 `json:"epoch,omitempty"` // of the running copy
	// GaveUp: the peer is the VM's active host, the VM died there and it
	// used all its restarts: it will not start this epoch again, and the
	// passive host may take over.
	GaveUp bool `json:"gave_up,omitempty"`
}

// Report is what a host tells its peers on every exchange. Build it with
// State.Report.
type Report struct {
	// Quorate: the host holds the lease (it heard from a majority within
	// FenceTimeout).
	Quorate bool `json:"quorate"`
	// Heard is, for every other host it counts, how long it had heard
	// nothing from it when it made the report.
	Heard map[string]time.Duration `json:"heard"`
	// VMs are its HA VMs, by name.
	VMs map[string]Seen `json:"vms"`
}

// Member is another host as this host sees it.
type Member struct {
	Status Status `json:"status"`
	// LastHeard is the last time (monotonic) this host heard anything from
	// it: a request for its report or an answer to its own; zero if never
	// since the agent started. Silence is judged by it.
	LastHeard time.Time `json:"last_heard,omitzero"`
	// LastExchange is when this host sent the last request for a report that
	// it answered: a round trip, stamped at its start, so never later than
	// the member's own LastHeard of this host. The lease and contact are
	// judged by it: a one-way link (this host hears the member, the member
	// does not hear it) gives neither.
	LastExchange time.Time `json:"last_exchange,omitzero"`
	// Healthy: its local checks pass (Serf tags).
	Healthy bool `json:"healthy"`
	// Maintenance: it is being drained (Serf tags).
	Maintenance bool `json:"maintenance"`
	// Report is its last report, the answer to the exchange at
	// LastExchange; nil if none.
	Report *Report `json:"report,omitempty"`
}

// State is one host's view of the cluster: everything Decide needs.
type State struct {
	// Self is this host's name.
	Self string `json:"self"`
	// Start is when the agent started (monotonic). A host it has not heard
	// from since counts, for failover, as heard from at Start: the agent
	// cannot know what it heard before.
	Start time.Time `json:"start"`
	// Healthy and Maintenance are this host's own.
	Healthy     bool `json:"healthy"`
	Maintenance bool `json:"maintenance"`
	// Members are all the other hosts of the cluster, by name: failed, left
	// and remembered ones included (a host not seen since the agent started
	// is Failed with LastHeard zero). Only an operator's removal of a host
	// takes it out: a smaller cluster needs a smaller majority, and a host
	// that left and came back unseen must still be counted.
	Members map[string]Member `json:"members"`
	// VMs are the HA VMs defined on this host.
	VMs    []VM   `json:"vms"`
	Timers Timers `json:"timers"`
}

// Quorum is this host's standing in the cluster.
type Quorum struct {
	// Hosts is the cluster's size: this host and every member.
	Hosts int `json:"hosts"`
	// Needed is a strict majority of Hosts.
	Needed int `json:"needed"`
	// InContact counts this host and the members whose report is younger
	// than Skew.
	InContact int `json:"in_contact"`
	// LeaseEnd is FenceTimeout after this host last heard from a majority
	// (itself included); zero if it has not since the agent started. HA VMs
	// may run here only before it.
	LeaseEnd time.Time `json:"lease_end,omitzero"`
}

// Has reports whether a majority is in contact now.
func (q Quorum) Has() bool { return q.InContact >= q.Needed }

func (q Quorum) String() string {
	verdict := "quorum"
	if !q.Has() {
		verdict = "no quorum"
	}
	return fmt.Sprintf("%s (%d/%d hosts in contact, %d needed)", verdict, q.InContact, q.Hosts, q.Needed)
}

// inContact reports whether m answered a request sent within Skew, with a
// report, and is alive in gossip.
func (s State) inContact(m Member, now time.Time) bool {
	return m.Status == Alive && m.Report != nil && !m.LastExchange.IsZero() && now.Sub(m.LastExchange) <= s.Timers.Skew
}

// counted are the names of the members, sorted; they all count as hosts.
func (s State) counted() []string {
	names := make([]string, 0, len(s.Members))
	for name := range s.Members {
		if name != s.Self {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Quorum computes this host's quorum and lease.
func (s State) Quorum(now time.Time) Quorum { return s.quorum(s.counted(), now) }

func (s State) quorum(names []string, now time.Time) Quorum {
	q := Quorum{Hosts: len(names) + 1, InContact: 1}
	q.Needed = q.Hosts/2 + 1
	heard := []time.Time{now}
	for _, name := range names {
		m := s.Members[name]
		if s.inContact(m, now) {
			q.InContact++
		}
		if !m.LastExchange.IsZero() && !m.LastExchange.After(now) {
			heard = append(heard, m.LastExchange)
		}
	}
	if len(heard) >= q.Needed {
		slices.SortFunc(heard, func(a, b time.Time) int { return b.Compare(a) })
		q.LeaseEnd = heard[q.Needed-1].Add(s.Timers.FenceTimeout)
	}
	return q
}

// silence is how long this host has heard nothing from name, counting a
// host not heard from since the agent started as heard at Start.
func (s State) silence(name string, now time.Time) time.Duration {
	last := s.Members[name].LastHeard
	if last.Before(s.Start) {
		last = s.Start
	}
	if last.IsZero() || last.After(now) {
		return 0
	}
	return now.Sub(last)
}

// gaveUp reports whether this host is the active of v's record and has
// given up restarting it.
func (s State) gaveUp(v VM) bool {
	return v.Record.Active == s.Self && !v.Local.Running && !v.Local.DiedAt.IsZero() && v.Local.Restarts >= s.Timers.MaxRestarts
}

// Report is what this host tells its peers now.
func (s State) Report(now time.Time) Report {
	names := s.counted()
	r := Report{Heard: make(map[string]time.Duration, len(names)), VMs: make(map[string]Seen, len(s.VMs))}
	r.Quorate = now.Before(s.quorum(names, now).LeaseEnd)
	for _, name := range names {
		r.Heard[name] = s.silence(name, now)
	}
	for _, v := range s.VMs {
		seen := Seen{Record: v.Record, Running: v.Local.Running, GaveUp: s.gaveUp(v)}
		if v.Local.Running {
			seen.Epoch = v.Local.Epoch
		}
		r.VMs[v.Name] = seen
	}
	return r
}

// PetWatchdog reports whether the agent may pet the watchdog now, after
// executing the actions of a Decide: while it holds the lease or runs no HA
// VM. A working agent destroys its VMs when the lease ends and goes on
// petting; a hung one stops petting, and its watchdog stops its QEMUs at
// most Watchdog after the lease ended.
func (s State) PetWatchdog(now time.Time) bool {
	if !slices.ContainsFunc(s.VMs, func(v VM) bool { return v.Local.Running }) {
		return true
	}
	return now.Before(s.Quorum(now).LeaseEnd)
}
