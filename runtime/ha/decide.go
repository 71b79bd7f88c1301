package ha

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is what an action does.
type Kind string

// Action kinds. The agent executes them in the order Decide returns them
// and only if they still apply (a Destroy of a copy that no longer runs, a
// Start of a VM that already runs: nothing to do).
const (
	// Start boots the VM here with Record (this host is its active).
	Start Kind = "start"
	// Restart boots it again after it died here; it counts toward
	// MaxRestarts.
	Restart Kind = "restart"
	// Destroy hard-stops the copy running here (libvirt destroy): a fence,
	// or a copy that must not run.
	Destroy Kind = "destroy"
	// Stop shuts the VM down because its record says stopped.
	Stop Kind = "stop"
	// Migrate live-migrates the VM to To (a switchover). The destination
	// and this host both get Record, in which To is the active.
	Migrate Kind = "migrate"
	// Adopt writes Record, newer than this host's, into the local
	// definition.
	Adopt Kind = "adopt"
)

// Action is one thing the agent should do.
type Action struct {
	Kind Kind   `json:"kind"`
	VM   string `json:"vm"`
	// Epoch is, for Destroy and Stop, the epoch of the copy to stop (the
	// agent skips the action if another copy runs by then); for the other
	// kinds, the epoch of the record the action writes.
	Epoch uint64 `json:"epoch"`
	// Record is the record the action leaves here (Start, Restart, Adopt)
	// or on both hosts (Migrate); zero for Destroy and Stop.
	Record Record `json:"record,omitzero"`
	// To is the destination of a Migrate.
	To string `json:"to,omitempty"`
	// Reason says why, for logs and `ha status`.
	Reason string `json:"reason"`
}

func (a Action) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s epoch %d", a.Kind, a.VM, a.Epoch)
	if a.To != "" {
		fmt.Fprintf(&b, " to %s", a.To)
	}
	fmt.Fprintf(&b, ": %s", a.Reason)
	return b.String()
}

// Decision is what Decide concluded about one VM.
type Decision struct {
	VM string `json:"vm"`
	// Record is the newest record this host knows, Role this host's part in
	// it: "active", "passive" or "".
	Record Record `json:"record"`
	Role   string `json:"role"`
	// Actions to take now, in order.
	Actions []Action `json:"actions,omitempty"`
	// Note says why nothing (more) is done, or what is awaited.
	Note string `json:"note,omitempty"`
}

// Decide returns what this host must do now about its HA VMs. It is a pure
// function of this host's view and the monotonic time; the rules are in
// the package documentation.
func Decide(s State, now time.Time) []Action {
	var out []Action
	for _, d := range decideAll(s, now, false) {
		out = append(out, d.Actions...)
	}
	return out
}

// Explain is Decide with the reasoning kept: one Decision per VM, in name
// order, for `ha status` and the logs.
func Explain(s State, now time.Time) []Decision { return decideAll(s, now, true) }

func decideAll(s State, now time.Time, explain bool) []Decision {
	v := newView(s, now)
	v.explain = explain
	vms := slices.Clone(s.VMs)
	slices.SortFunc(vms, func(a, b VM) int { return strings.Compare(a.Name, b.Name) })
	out := make([]Decision, 0, len(vms))
	for _, vm := range vms {
		out = append(out, v.decide(vm))
	}
	return out
}

// view is a State with what every decision shares computed once.
type view struct {
	s       State
	now     time.Time
	names   []string // the members that count, sorted
	q       Quorum
	lease   bool
	contact map[string]bool // members in contact now
	// unsafe is a host out of contact that may still run HA VMs, "" when
	// every host out of contact has been silent to a majority for
	// FailoverDelay; witnesses counts those that have been silent to it.
	unsafe    string
	witnesses int
	// explain: write the notes (Explain), not only the actions (Decide).
	explain bool
}

// notef sets the decision's note when explaining.
func (v *view) notef(d *Decision, format string, args ...any) {
	if v.explain {
		d.Note = fmt.Sprintf(format, args...)
	}
}

func newView(s State, now time.Time) *view {
	names := s.counted()
	v := &view{s: s, now: now, names: names, q: s.quorum(names, now), contact: make(map[string]bool, len(names))}
	v.lease = now.Before(v.q.LeaseEnd)
	for _, name := range names {
		if s.inContact(s.Members[name], now) {
			v.contact[name] = true
		}
	}
	v.unsafe, v.witnesses = v.silence()
	return v
}

// silence checks the start rule: every host that counts and is out of
// contact must have been heard from by none of a majority (this host and
// the members in contact, by their reports) for FailoverDelay. Such a host
// has then heard from no majority for longer than FenceTimeout, so it has
// fenced (or its watchdog has).
func (v *view) silence() (string, int) {
	fd := v.s.Timers.FailoverDelay
	names := v.names
	for _, u := range names {
		if v.contact[u] {
			continue
		}
		own := v.s.silence(u, v.now)
		witnesses := 0
		if own >= fd {
			witnesses++
		}
		for _, m := range names {
			if !v.contact[m] {
				continue
			}
			// A witness must have heard this host before it made its report
			// (within FailoverDelay): otherwise two hosts that reconnect to
			// it at once would both count its silence toward the other, and
			// both start.
			r := v.s.Members[m].Report
			if d, ok := r.Heard[u]; ok && d >= fd {
				if me, ok := r.Heard[v.s.Self]; ok && me < fd {
					witnesses++
				}
			}
		}
		if witnesses < v.q.Needed {
			return u, witnesses
		}
	}
	return "", 0
}

// newest is the newest record among this host's and every report, stale
// ones included (records only move forward), and where it came from.
func (v *view) newest(vm VM) (Record, string) {
	best, from := vm.Record, v.s.Self
	for _, name := range sortedKeys(v.s.Members) {
		r := v.s.Members[name].Report
		if r == nil {
			continue
		}
		if seen, ok := r.VMs[vm.Name]; ok && seen.Record.Newer(best) {
			best, from = seen.Record, name
		}
	}
	return best, from
}

// runner is a member in contact that runs a copy of the VM.
type runner struct {
	host  string
	epoch uint64
}

func (v *view) runners(name string) []runner {
	var out []runner
	for _, m := range v.names {
		if !v.contact[m] {
			continue
		}
		if seen, ok := v.s.Members[m].Report.VMs[name]; ok && seen.Running {
			out = append(out, runner{m, seen.Epoch})
		}
	}
	return out
}

func roleOf(r Record, self string) string {
	switch self {
	case r.Active:
		return "active"
	case r.Passive:
		return "passive"
	}
	return ""
}

func (v *view) decide(vm VM) Decision {
	s := v.s
	best, from := v.newest(vm)
	d := Decision{VM: vm.Name, Record: best, Role: roleOf(best, s.Self)}
	add := func(a Action) {
		a.VM = vm.Name
		d.Actions = append(d.Actions, a)
	}
	adopt := func() {
		if best.Newer(vm.Record) {
			add(Action{Kind: Adopt, Epoch: best.Epoch, Record: best,
				Reason: fmt.Sprintf("%s has a newer record (%s) than this host (epoch %d)", from, best, vm.Record.Epoch)})
		}
	}
	runners := v.runners(vm.Name)
	local := vm.Local

	if local.Running {
		// Rules 1 and 3: a copy runs only under a lease, on the active of
		// the newest record, and not older than a copy running elsewhere.
		var why string
		switch {
		case !v.lease:
			why = v.fenceReason()
		case best.Active != s.Self:
			why = fmt.Sprintf("the newest record (%s, from %s) does not make this host the active: this copy (epoch %d) must not run", best, from, local.Epoch)
		default:
			for _, r := range runners {
				if r.epoch > local.Epoch {
					why = fmt.Sprintf("%s runs a newer copy (epoch %d): this copy (epoch %d) is stale", r.host, r.epoch, local.Epoch)
					break
				}
			}
		}
		if why != "" {
			add(Action{Kind: Destroy, Epoch: local.Epoch, Reason: why})
			adopt()
			return d
		}
		adopt()
		if best.Desired != DesiredRunning {
			add(Action{Kind: Stop, Epoch: local.Epoch, Reason: fmt.Sprintf("the record (epoch %d) says %s", best.Epoch, orNone(string(best.Desired)))})
			return d
		}
		v.switchover(&d, vm, best, add)
		if len(d.Actions) == 0 && d.Note == "" {
			v.notef(&d, "runs here (epoch %d)", local.Epoch)
		}
		return d
	}

	adopt()
	switch {
	case best.Desired != DesiredRunning:
		v.notef(&d, "the record (epoch %d) says %s", best.Epoch, orNone(string(best.Desired)))
		return d
	case len(runners) > 0:
		v.notef(&d, "runs on %s (epoch %d)", runners[0].host, runners[0].epoch)
		return d
	}
	switch d.Role {
	case "active":
		v.ownerStart(&d, vm, best, add)
	case "passive":
		v.failover(&d, vm, best, add)
	default:
		v.notef(&d, "this host is neither the active (%s) nor the passive (%s)", orNone(best.Active), orNone(best.Passive))
	}
	return d
}

func (v *view) fenceReason() string {
	t := v.s.Timers
	if v.q.LeaseEnd.IsZero() {
		return fmt.Sprintf("self-fencing: this host has not heard from a majority (%d of %d hosts) since its agent started", v.q.Needed, v.q.Hosts)
	}
	since := v.now.Sub(v.q.LeaseEnd.Add(-t.FenceTimeout))
	return fmt.Sprintf("self-fencing: this host has not heard from a majority (%d of %d hosts) for %v (fence_timeout %v)",
		v.q.Needed, v.q.Hosts, since.Round(time.Millisecond), t.FenceTimeout)
}

// canStart is the common part of every start: a majority in contact and
// nothing unseen that may run the VM.
func (v *view) canStart() bool { return v.q.Has() && v.unsafe == "" }

// cannotStart says why canStart is false.
func (v *view) cannotStart() string {
	if !v.q.Has() {
		return "no quorum: " + v.q.String()
	}
	if v.unsafe != "" {
		return fmt.Sprintf("waiting: %s may still run HA VMs: %d of the %d hosts needed have heard nothing from it for failover_delay %v (this host: for %v)",
			v.unsafe, v.witnesses, v.q.Needed, v.s.Timers.FailoverDelay, v.s.silence(v.unsafe, v.now).Round(time.Millisecond))
	}
	return ""
}

// ownerStart is rules 4 and 6: the active starts its VM when it is down,
// unless it gave up after MaxRestarts.
func (v *view) ownerStart(d *Decision, vm VM, best Record, add func(Action)) {
	t := v.s.Timers
	died := !vm.Local.DiedAt.IsZero()
	if died && vm.Local.Restarts >= t.MaxRestarts {
		v.notef(d, "died %v ago after %d restarts (max_restarts %d): given up here; the passive (%s) takes over",
			v.now.Sub(vm.Local.DiedAt).Round(time.Millisecond), vm.Local.Restarts, t.MaxRestarts, orNone(best.Passive))
		return
	}
	if !v.canStart() {
		if v.explain {
			d.Note = v.cannotStart()
		}
		return
	}
	if died {
		add(Action{Kind: Restart, Epoch: best.Epoch, Record: best,
			Reason: fmt.Sprintf("died %v ago: restart %d of %d", v.now.Sub(vm.Local.DiedAt).Round(time.Millisecond), vm.Local.Restarts+1, t.MaxRestarts)})
		return
	}
	add(Action{Kind: Start, Epoch: best.Epoch, Record: best,
		Reason: fmt.Sprintf("this host is the active (epoch %d), it has quorum and no host runs the VM", best.Epoch)})
}

// failover is rules 2, 4 and 7: the passive takes over from an active that
// failed, left, or gave up restarting the VM.
func (v *view) failover(d *Decision, vm VM, best Record, add func(Action)) {
	s := v.s
	a := best.Active
	m, known := s.Members[a]
	var why string
	switch {
	case a == "":
		d.Note = "the record has no active host"
		return
	case !known:
		v.notef(d, "the active %s is not a member this host knows", a)
		return
	case v.contact[a]:
		seen := m.Report.VMs[vm.Name]
		if !seen.GaveUp || seen.Record.Epoch != best.Epoch || seen.Record.Active != a {
			v.notef(d, "the active %s is up and in charge", a)
			return
		}
		why = fmt.Sprintf("the active %s gave up restarting it", a)
	case m.Status == Left:
		why = fmt.Sprintf("the active %s left the cluster and a majority has heard nothing from it for failover_delay %v", a, s.Timers.FailoverDelay)
	case m.Status == Failed:
		why = fmt.Sprintf("the active %s failed and a majority has heard nothing from it for failover_delay %v", a, s.Timers.FailoverDelay)
	default:
		v.notef(d, "the active %s is %s in gossip but its reports stopped: waiting for gossip to declare it failed", a, orNone(string(m.Status)))
		return
	}
	if s.Maintenance {
		d.Note = "this host is in maintenance: it takes over nothing (" + why + ")"
		return
	}
	if !v.canStart() {
		if v.explain {
			d.Note = v.cannotStart()
		}
		return
	}
	rec := Record{Epoch: best.Epoch + 1, Active: s.Self, Passive: a, Desired: best.Desired}
	add(Action{Kind: Start, Epoch: rec.Epoch, Record: rec, Reason: fmt.Sprintf("failover: %s; taking over with epoch %d", why, rec.Epoch)})
}

// switchover is rule 5: the active live-migrates the VM to its passive when
// it is in maintenance, unhealthy, or asked to.
func (v *view) switchover(d *Decision, vm VM, best Record, add func(Action)) {
	s := v.s
	var why []string
	if s.Maintenance {
		why = append(why, "this host is in maintenance")
	}
	if !s.Healthy {
		why = append(why, "this host is unhealthy")
	}
	if vm.Switchover {
		why = append(why, "a switchover was asked for")
	}
	if len(why) == 0 {
		return
	}
	p := best.Passive
	m := s.Members[p]
	var blocked string
	switch {
	case p == "" || p == s.Self:
		blocked = "it has no passive host"
	case !v.contact[p]:
		blocked = fmt.Sprintf("the passive %s is not in contact", p)
	case !m.Healthy:
		blocked = fmt.Sprintf("the passive %s is unhealthy", p)
	case m.Maintenance:
		blocked = fmt.Sprintf("the passive %s is in maintenance", p)
	case !m.Report.Quorate:
		blocked = fmt.Sprintf("the passive %s has no quorum", p)
	case !defines(m.Report, vm.Name):
		blocked = fmt.Sprintf("the passive %s does not define the VM", p)
	}
	if blocked != "" {
		v.notef(d, "switchover wanted (%s) but %s", strings.Join(why, ", "), blocked)
		return
	}
	rec := Record{Epoch: best.Epoch + 1, Active: p, Passive: s.Self, Desired: best.Desired}
	add(Action{Kind: Migrate, Epoch: rec.Epoch, Record: rec, To: p,
		Reason: fmt.Sprintf("switchover: %s; live-migrating to the passive %s (epoch %d)", strings.Join(why, ", "), p, rec.Epoch)})
}

func defines(r *Report, vm string) bool {
	_, ok := r.VMs[vm]
	return ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
