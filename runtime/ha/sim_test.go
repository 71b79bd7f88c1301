package ha

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The simulator runs Decide on every host of a small cluster (3 to 5 hosts,
// 1 to 4 HA VMs), in lock step, against a ground truth of which QEMUs run
// where, under a random sequence of events: partitions into arbitrary
// groups, heals, single links cut, lost exchanges, host kills and revivals,
// agent hangs and resumes, graceful leaves and rejoins, VM crashes,
// maintenance, health changes and switchover requests. After every step it
// checks that no VM runs on two hosts (and that Decide does not repeat an
// action that took effect); at the end, after healing everything, that every
// VM runs on exactly one host and the hosts agree on its record.
//
// The model, and its assumptions:
//   - Time advances in steps of dt = Skew/2. Each step: stops under way
//     complete, scheduled events fire, watchdogs fire, agents exchange
//     reports, every working agent runs Decide on its own view, all actions
//     are executed, the invariant is checked, agents pet their watchdogs.
//   - Reachability is symmetric: a partition of the hosts into groups,
//     minus links cut inside a group (so not always transitive). A killed,
//     left or hung host reaches nobody.
//   - At the start of each step every working agent makes its report, and
//     reachable agents exchange them push-pull: both set each other's
//     LastHeard to now. An exchange may be lost (both ends miss it; gossip
//     still sees the peer). A peer out of reach stays in contact, with its
//     last report, for Skew: that is the staleness Decide must tolerate.
//   - Gossip marks a reachable peer alive at once and an unreachable one
//     failed after Detection; a leave is seen as left by the peers reachable
//     at that moment, as failed by the others.
//   - A kill stops the host's QEMUs and agent; a revival or a rejoin starts
//     a fresh agent (no memory of LastHeard or restarts) with the records on
//     disk. A leave first destroys the host's HA VMs, as the agent must.
//   - A pause hangs the agent (and its gossip) while its QEMUs keep running:
//     it decides and pets nothing. The watchdog, assumed present, stops the
//     host's QEMUs Watchdog after the last pet (Validate keeps Watchdog +
//     FenceTimeout within FailoverDelay). A watchdog that fires on an agent
//     that petted since it last came back is a failure of the petting rule.
//   - Actions are executed as Decide returns them: Start and Restart run
//     the VM with the action's record; Destroy and Stop stop it one step
//     later (QEMU takes time to die; with the Decide step, a fence lands up
//     to Skew late); Adopt writes the record; Migrate moves the VM at once
//     if the destination is reachable and not running it, else fails.
//   - Clocks run at the same rate; the network has no latency beyond the
//     step. The margins for both are in MinFailoverDelay's 2×Skew, which the
//     simulator does not need in full: it finds double runs once
//     FailoverDelay is 2 steps short of FenceTimeout + Watchdog
//     (TestScenarioUnsafeTimersRunTwice).

// dice is the source of every choice a scenario makes.
type dice interface{ Intn(n int) int }

type randDice struct{ r *rand.Rand }

func (d randDice) Intn(n int) int {
	if n <= 1 {
		return 0
	}
	return d.r.IntN(n)
}

// byteDice takes its choices from fuzz input; exhausted, it answers 0.
type byteDice struct {
	b []byte
	i int
}

func (d *byteDice) Intn(n int) int {
	if n <= 1 || d.i >= len(d.b) {
		return 0
	}
	v := int(d.b[d.i])
	d.i++
	return v % n
}

type simVM struct {
	rec        Record // on disk
	running    bool
	epoch      uint64
	diedAt     time.Time
	restarts   int
	switchover bool
}

type simMember struct {
	status         Status
	lastHeard      time.Time
	lastReach      time.Time
	healthy, maint bool
	report         *Report
}

type simHost struct {
	name      string
	up        bool // agent and host running: not killed, not left
	paused    bool // agent hung, QEMUs running
	left      bool
	start     time.Time
	resumedAt time.Time
	lastPet   time.Time
	healthy   bool
	maint     bool
	members   map[string]*simMember
	vms       map[string]*simVM // defined here
	scratch   map[string]Member // reused by state
}

type stopping struct {
	h     *simHost
	vm    string
	epoch uint64
}

type scheduled struct {
	at time.Time
	fn func()
}

type sim struct {
	base   time.Time
	t      time.Time
	dt     time.Duration
	timers Timers
	hosts  []*simHost
	vms    []string
	group  map[string]int
	// cut are links down between two hosts of one group: reachability is
	// then no longer transitive.
	cut map[[2]string]bool
	// loss is the chance (in %) that a reachable pair fails to exchange
	// reports in a step; lossy draws it.
	loss  int
	lossy *rand.Rand
	// stopping are the Destroy and Stop actions under way: QEMU takes a
	// step to die.
	stopping []stopping
	// later are events scheduled by other events.
	later []scheduled
	trace []string
}

func newSim(hosts, vms int, t Timers) *sim {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &sim{base: base, t: base, dt: t.Skew / 2, timers: t, group: map[string]int{}, cut: map[[2]string]bool{}}
	for i := range hosts {
		s.hosts = append(s.hosts, &simHost{name: fmt.Sprintf("h%d", i+1), up: true, start: base, lastPet: base, healthy: true,
			members: map[string]*simMember{}, vms: map[string]*simVM{}})
	}
	for _, h := range s.hosts {
		for _, p := range s.hosts {
			if p != h {
				h.members[p.name] = &simMember{status: Alive, lastHeard: base, lastReach: base, healthy: true}
			}
		}
	}
	for i := range vms {
		name := fmt.Sprintf("vm%d", i+1)
		s.vms = append(s.vms, name)
		active, passive := s.hosts[i%hosts], s.hosts[(i+1)%hosts]
		rec := Record{Epoch: 1, Active: active.name, Passive: passive.name, Desired: DesiredRunning}
		active.vms[name] = &simVM{rec: rec, running: true, epoch: 1}
		passive.vms[name] = &simVM{rec: rec}
	}
	s.logf("start: %d hosts, %s, timers %+v", hosts, s.placement(), t)
	return s
}

func (s *sim) logf(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf("%8.3fs  ", s.t.Sub(s.base).Seconds())+fmt.Sprintf(format, args...))
}

func (s *sim) dump() string { return strings.Join(s.trace, "\n") }

func (s *sim) host(name string) *simHost {
	for _, h := range s.hosts {
		if h.name == name {
			return h
		}
	}
	panic("no host " + name)
}

func (s *sim) working(h *simHost) bool { return h.up && !h.paused }

func (s *sim) reachable(a, b *simHost) bool {
	return a != b && s.working(a) && s.working(b) && s.group[a.name] == s.group[b.name] && !s.cut[link(a.name, b.name)]
}

func link(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

func (s *sim) placement() string {
	var parts []string
	for _, v := range s.vms {
		var on []string
		for _, h := range s.hosts {
			if vm := h.vms[v]; vm != nil {
				mark := ""
				if vm.running {
					mark = fmt.Sprintf("*%d", vm.epoch)
				}
				on = append(on, fmt.Sprintf("%s%s[%d %s/%s]", h.name, mark, vm.rec.Epoch, vm.rec.Active, vm.rec.Passive))
			}
		}
		parts = append(parts, v+"@"+strings.Join(on, ","))
	}
	return strings.Join(parts, " ")
}

func (s *sim) groups() string {
	by := map[int][]string{}
	for _, h := range s.hosts {
		by[s.group[h.name]] = append(by[s.group[h.name]], h.name)
	}
	var keys []int
	for k := range by {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		out = append(out, "{"+strings.Join(by[k], " ")+"}")
	}
	return strings.Join(out, " ")
}

// state is h's view, as its agent would build it.
func (s *sim) state(h *simHost) State {
	if h.scratch == nil {
		h.scratch = make(map[string]Member, len(h.members))
	}
	clear(h.scratch)
	st := State{Self: h.name, Start: h.start, Healthy: h.healthy, Maintenance: h.maint, Members: h.scratch, Timers: s.timers}
	for name, m := range h.members {
		st.Members[name] = Member{Status: m.status, LastHeard: m.lastHeard, LastExchange: m.lastHeard, Healthy: m.healthy, Maintenance: m.maint, Report: m.report}
	}
	for _, name := range s.vms {
		vm := h.vms[name]
		if vm == nil {
			continue
		}
		l := Local{Running: vm.running, DiedAt: vm.diedAt, Restarts: vm.restarts}
		if vm.running {
			l.Epoch = vm.epoch
		}
		st.VMs = append(st.VMs, VM{Name: name, Record: vm.rec, Local: l, Switchover: vm.switchover})
	}
	return st
}

func (s *sim) step() error {
	s.t = s.t.Add(s.dt)
	for _, x := range s.stopping {
		if vm := x.h.vms[x.vm]; vm.running && vm.epoch == x.epoch {
			vm.running = false
			s.logf("%s: %s (epoch %d) stopped", x.h.name, x.vm, x.epoch)
		}
	}
	s.stopping = s.stopping[:0]
	due := s.later[:0:0]
	for _, e := range s.later {
		if e.at.After(s.t) {
			due = append(due, e)
		} else {
			e.fn()
		}
	}
	s.later = due
	if wd := s.timers.Watchdog; wd > 0 {
		for _, h := range s.hosts {
			if !h.up || s.t.Before(h.lastPet.Add(wd)) {
				continue
			}
			var killed []string
			for _, name := range s.vms {
				if vm := h.vms[name]; vm != nil && vm.running {
					vm.running = false
					killed = append(killed, name)
				}
			}
			if len(killed) == 0 {
				continue
			}
			s.logf("%s: watchdog fires (last pet %.3fs): stops %v", h.name, h.lastPet.Sub(s.base).Seconds(), killed)
			if !h.paused && !h.lastPet.Before(h.resumedAt) {
				return fmt.Errorf("the watchdog fired on %s, whose agent works: the petting rule is wrong", h.name)
			}
		}
	}
	// Reports are made from each agent's state now and exchanged push-pull
	// between reachable agents: both ends hear each other at once.
	reports := map[string]*Report{}
	for _, h := range s.hosts {
		if s.working(h) {
			r := s.state(h).Report(s.t)
			reports[h.name] = &r
		}
	}
	lost := map[[2]string]bool{}
	if s.loss > 0 {
		for i, h := range s.hosts {
			for _, p := range s.hosts[i+1:] {
				if s.reachable(h, p) && s.lossy.IntN(100) < s.loss {
					lost[link(h.name, p.name)] = true
				}
			}
		}
	}
	for _, h := range s.hosts {
		if !s.working(h) {
			continue
		}
		for _, p := range s.hosts {
			if p == h {
				continue
			}
			m := h.members[p.name]
			switch {
			case s.reachable(h, p) && lost[link(h.name, p.name)]:
				// Gossip still sees it; the exchange failed both ways.
				m.status, m.lastReach = Alive, s.t
			case s.reachable(h, p):
				if m.status != Alive {
					s.logf("%s: sees %s alive", h.name, p.name)
				}
				m.status, m.lastReach, m.healthy, m.maint = Alive, s.t, p.healthy, p.maint
				m.report, m.lastHeard = reports[p.name], s.t
			case m.status == Alive && s.t.Sub(m.lastReach) >= s.timers.Detection:
				m.status = Failed
				s.logf("%s: sees %s failed", h.name, p.name)
			}
		}
	}
	type batch struct {
		h    *simHost
		acts []Action
	}
	var batches []batch
	pets := map[*simHost]bool{}
	for _, h := range s.hosts {
		if !s.working(h) {
			continue
		}
		st := s.state(h)
		if acts := Decide(st, s.t); len(acts) > 0 {
			batches = append(batches, batch{h, acts})
		} else {
			pets[h] = st.PetWatchdog(s.t)
		}
	}
	for i, b := range batches {
		var done []Action
		for _, a := range b.acts {
			if s.apply(b.h, a) {
				done = append(done, a)
			}
		}
		batches[i].acts = done
	}
	if err := s.safe(); err != nil {
		return err
	}
	// Rule 8: what took effect is not asked for again.
	for _, b := range batches {
		for _, a := range Decide(s.state(b.h), s.t) {
			if slices.ContainsFunc(b.acts, func(x Action) bool { return x.Kind == a.Kind && x.VM == a.VM && x.Epoch == a.Epoch }) {
				return fmt.Errorf("%s: Decide repeats %q once it is done", b.h.name, a)
			}
		}
	}
	for _, h := range s.hosts {
		if !s.working(h) {
			continue
		}
		pet, ok := pets[h]
		if !ok {
			pet = s.state(h).PetWatchdog(s.t)
		}
		if pet {
			h.lastPet = s.t
		}
	}
	return nil
}

// apply executes a, as the agent would, and reports whether it took
// effect.
func (s *sim) apply(h *simHost, a Action) bool {
	vm := h.vms[a.VM]
	if vm == nil {
		s.logf("%s: %s: the VM is not defined here", h.name, a)
		return false
	}
	s.logf("%s: %s", h.name, a)
	switch a.Kind {
	case Start, Restart:
		if vm.running {
			s.logf("  (already running)")
			return false
		}
		vm.running, vm.epoch, vm.rec, vm.diedAt = true, a.Epoch, a.Record, time.Time{}
		if a.Kind == Restart {
			vm.restarts++
		} else {
			vm.restarts = 0
		}
	case Destroy, Stop:
		if !vm.running || vm.epoch != a.Epoch {
			s.logf("  (that copy does not run)")
			return false
		}
		if !slices.ContainsFunc(s.stopping, func(x stopping) bool { return x.h == h && x.vm == a.VM }) {
			s.stopping = append(s.stopping, stopping{h, a.VM, a.Epoch})
		}
		return false // done at the next step
	case Adopt:
		vm.rec = a.Record
	case Migrate:
		dst := s.host(a.To)
		dvm := dst.vms[a.VM]
		if !vm.running || dvm == nil || dvm.running || !s.reachable(h, dst) {
			s.logf("  (migration fails)")
			return false
		}
		vm.running, vm.rec, vm.switchover = false, a.Record, false
		dvm.running, dvm.epoch, dvm.rec, dvm.restarts, dvm.diedAt = true, a.Epoch, a.Record, 0, time.Time{}
	}
	return true
}

// safe is the invariant: no VM runs on two hosts, whatever the views.
func (s *sim) safe() error {
	for _, name := range s.vms {
		var on []string
		for _, h := range s.hosts {
			if vm := h.vms[name]; vm != nil && vm.running {
				on = append(on, fmt.Sprintf("%s (epoch %d)", h.name, vm.epoch))
			}
		}
		if len(on) > 1 {
			return fmt.Errorf("%s runs on %s at once", name, strings.Join(on, " and "))
		}
	}
	return nil
}

func (s *sim) run(d time.Duration) error {
	for end := s.t.Add(d); s.t.Before(end); {
		if err := s.step(); err != nil {
			return err
		}
	}
	return nil
}

// Events.

func (s *sim) partition(groups map[string]int) {
	for _, h := range s.hosts {
		s.group[h.name] = groups[h.name]
	}
	s.logf("partition %s", s.groups())
}

func (s *sim) isolate(h *simHost) {
	s.group[h.name] = 100
	s.logf("isolate %s: %s", h.name, s.groups())
}

func (s *sim) heal() {
	clear(s.group)
	clear(s.cut)
	s.logf("heal")
}

func (s *sim) kill(h *simHost) {
	if !h.up {
		return
	}
	h.up, h.paused = false, false
	for _, vm := range h.vms {
		vm.running = false
	}
	s.logf("kill %s", h.name)
}

func (s *sim) boot(h *simHost) {
	h.up, h.paused, h.left = true, false, false
	h.start, h.lastPet, h.resumedAt = s.t, s.t, s.t
	h.healthy, h.maint = true, false
	for _, m := range h.members {
		*m = simMember{status: Failed}
	}
	for _, vm := range h.vms {
		vm.running, vm.restarts, vm.diedAt, vm.switchover = false, 0, time.Time{}, false
	}
}

func (s *sim) revive(h *simHost) {
	if h.up || h.left {
		return
	}
	s.boot(h)
	s.logf("revive %s (fresh agent)", h.name)
}

func (s *sim) pause(h *simHost) {
	if !s.working(h) {
		return
	}
	h.paused = true
	s.logf("pause %s (agent hangs, QEMUs run)", h.name)
}

func (s *sim) resume(h *simHost) {
	if !h.up || !h.paused {
		return
	}
	h.paused = false
	h.resumedAt = s.t.Add(s.dt)
	s.logf("resume %s", h.name)
}

func (s *sim) crash(name string) {
	for _, h := range s.hosts {
		if vm := h.vms[name]; vm != nil && vm.running && h.up {
			vm.running, vm.diedAt = false, s.t
			s.logf("%s crashes on %s", name, h.name)
		}
	}
}

func (s *sim) leave(h *simHost) {
	if !s.working(h) {
		return
	}
	for _, name := range s.vms {
		if vm := h.vms[name]; vm != nil && vm.running {
			vm.running = false
			s.logf("%s: drains %s", h.name, name)
		}
	}
	for _, p := range s.hosts {
		if s.reachable(h, p) {
			p.members[h.name].status = Left
		}
	}
	h.up, h.left = false, true
	s.logf("leave %s", h.name)
}

func (s *sim) rejoin(h *simHost) {
	if !h.left {
		return
	}
	s.boot(h)
	s.logf("rejoin %s (fresh agent)", h.name)
}

func (s *sim) askSwitchover(name string) {
	for _, h := range s.hosts {
		if vm := h.vms[name]; vm != nil && vm.running && s.working(h) {
			vm.switchover = true
			s.logf("switchover of %s asked on %s", name, h.name)
		}
	}
}

// event plays one random event.
func (s *sim) event(d dice) {
	h := s.hosts[d.Intn(len(s.hosts))]
	vm := s.vms[d.Intn(len(s.vms))]
	switch d.Intn(18) {
	case 0, 1:
		groups := map[string]int{}
		for _, x := range s.hosts {
			groups[x.name] = d.Intn(3)
		}
		s.partition(groups)
	case 2:
		s.isolate(h)
	case 3:
		s.heal()
	case 4:
		s.group[h.name] = d.Intn(3)
		s.logf("move %s: %s", h.name, s.groups())
	case 5:
		s.kill(h)
	case 6:
		s.revive(h)
	case 7:
		s.pause(h)
	case 8:
		s.resume(h)
	case 9:
		s.crash(vm)
	case 10:
		h.maint = !h.maint
		s.logf("%s: maintenance %v", h.name, h.maint)
	case 11:
		h.healthy = !h.healthy
		s.logf("%s: healthy %v", h.name, h.healthy)
	case 12:
		s.askSwitchover(vm)
	case 13:
		s.leave(h)
	case 14:
		s.rejoin(h)
	case 15:
		for _, x := range s.hosts {
			s.resume(x)
			s.revive(x)
		}
	case 17:
		// Cut h off and hang its agent just before it would fence: its
		// watchdog must stop its QEMUs before a failover.
		s.isolate(h)
		at := s.t.Add(s.timers.FenceTimeout - time.Duration(d.Intn(3))*s.dt)
		s.later = append(s.later, scheduled{at, func() { s.pause(h) }})
	case 16:
		p := s.hosts[d.Intn(len(s.hosts))]
		if p != h {
			s.cut[link(h.name, p.name)] = true
			s.logf("cut %s-%s", h.name, p.name)
		}
	}
}

// settle heals everything, waits, and checks that every VM runs exactly
// once and that the hosts agree on its record.
func (s *sim) settle() error {
	s.heal()
	s.loss, s.later = 0, nil
	for _, h := range s.hosts {
		s.resume(h)
		s.revive(h)
		s.rejoin(h)
		h.maint, h.healthy = false, true
		for _, vm := range h.vms {
			vm.switchover = false
		}
	}
	t := s.timers
	if err := s.run(t.Detection + t.FailoverDelay + t.FenceTimeout + t.Watchdog + 20*s.dt); err != nil {
		return err
	}
	for _, name := range s.vms {
		var on []string
		var recs []Record
		for _, h := range s.hosts {
			if vm := h.vms[name]; vm != nil {
				recs = append(recs, vm.rec)
				if vm.running {
					on = append(on, h.name)
				}
			}
		}
		if len(on) != 1 {
			return fmt.Errorf("liveness: after healing, %s runs on %d hosts %v: %s", name, len(on), on, s.placement())
		}
		if slices.ContainsFunc(recs, func(r Record) bool { return r != recs[0] }) {
			return fmt.Errorf("liveness: after healing, the records of %s disagree: %s", name, s.placement())
		}
	}
	s.logf("settled: %s", s.placement())
	return nil
}

// randomTimers are valid timers with the smallest margins Validate allows,
// in units of 100 ms.
func randomTimers(d dice) Timers {
	u := 100 * time.Millisecond
	skew := 2 * u
	t := Timers{Skew: skew, MaxRestarts: d.Intn(4)}
	t.FenceTimeout = 2*skew + time.Duration(d.Intn(9))*u
	t.Watchdog = skew + u + time.Duration(d.Intn(6))*u
	t.FailoverDelay = t.MinFailoverDelay() + time.Duration(d.Intn(3))*u
	t.Detection = u * time.Duration(1+d.Intn(int(2*t.FailoverDelay/u)))
	return t
}

// scenario draws a cluster and its timers from d, plays up to events random
// events at random intervals, then settles.
func scenario(d dice, events int) (*sim, error) {
	var t Timers
	switch d.Intn(4) {
	case 0:
		t = DefaultTimers()
	case 1:
		t = Tuned()
	default:
		t = randomTimers(d)
	}
	s := newSim(3+d.Intn(3), 1+d.Intn(4), t)
	if s.loss = []int{0, 0, 10, 30}[d.Intn(4)]; s.loss > 0 {
		seed := uint64(d.Intn(256))
		s.lossy = rand.New(rand.NewPCG(seed, seed))
		s.logf("exchanges fail %d%% of the time", s.loss)
	}
	maxGap := int((t.FailoverDelay+t.Detection)/s.dt) + 1
	bd, fuzzing := d.(*byteDice)
	for range events {
		if fuzzing && bd.i >= len(bd.b) {
			break
		}
		s.event(d)
		for range 1 + d.Intn(maxGap) {
			if err := s.step(); err != nil {
				return s, err
			}
		}
	}
	return s, s.settle()
}

// TestSimulatorRandomized plays 500 seeded scenarios. For a longer search,
// HA_SIM_SEEDS=n plays n, from seed HA_SIM_FROM (0); a failure prints its
// seed, which HA_SIM_FROM=seed HA_SIM_SEEDS=1 replays.
func TestSimulatorRandomized(t *testing.T) {
	n, from := uint64(500), uint64(0)
	if testing.Short() {
		n = 100
	}
	for env, v := range map[string]*uint64{"HA_SIM_SEEDS": &n, "HA_SIM_FROM": &from} {
		if s := os.Getenv(env); s != "" {
			var err error
			if *v, err = strconv.ParseUint(s, 10, 64); err != nil {
				t.Fatalf("%s: %v", env, err)
			}
		}
	}
	steps := 0
	for seed := from; seed < from+n; seed++ {
		s, err := scenario(randDice{rand.New(rand.NewPCG(seed, 0x6861))}, 20)
		if err != nil {
			t.Fatalf("seed %d: %v\n\ntrace:\n%s", seed, err, s.dump())
		}
		steps += int(s.t.Sub(s.base) / s.dt)
	}
	t.Logf("%d scenarios, %d steps", n, steps)
}

func FuzzDecideInvariant(f *testing.F) {
	for _, seed := range []string{
		"",
		"\x00\x00\x00\x00\x07\x00\x00\x10",
		"\x01\x02\x01\x00\x00\x02\x05\x05\x00\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e",
		"\x02\x01\x02\x03\x04\x05\x06\x07\x08\x09\x00\x01\x00\x02\x03\x07\x03\x09",
		"\x03\x02\x03\x01\x02\x03\x00\x02\x01\x02\x00\x07\x02\x01\x05\x0f\x00\x02\x02\x08",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := scenario(&byteDice{b: b}, 200)
		if err != nil {
			t.Fatalf("%v\n\ntrace:\n%s", err, s.dump())
		}
	})
}

// Scripted scenarios: the failures the rules guard against, each played
// step by step. The random search finds them too; these keep them named.

// runs lists the hosts where vm runs (ground truth).
func (s *sim) runs(vm string) []string {
	var on []string
	for _, h := range s.hosts {
		if v := h.vms[vm]; v != nil && v.running {
			on = append(on, h.name)
		}
	}
	return on
}

// until steps until cond holds, for at most limit, and returns the time
// it took.
func (s *sim) until(limit time.Duration, cond func() bool) (time.Duration, error) {
	start := s.t
	for !cond() {
		if s.t.Sub(start) >= limit {
			return 0, fmt.Errorf("not within %v", limit)
		}
		if err := s.step(); err != nil {
			return 0, err
		}
	}
	return s.t.Sub(start), nil
}

func runsOn(s *sim, vm, host string) func() bool {
	return func() bool { return slices.Equal(s.runs(vm), []string{host}) }
}

func failIf(t *testing.T, s *sim, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%v\n\ntrace:\n%s", err, s.dump())
	}
}

// The active host is cut off: it fences at FenceTimeout, the passive takes
// over at FailoverDelay, within Predict; after the heal the old active
// stays passive.
func TestScenarioIsolatedActive(t *testing.T) {
	for name, tm := range map[string]Timers{"default": DefaultTimers(), "tuned": Tuned()} {
		t.Run(name, func(t *testing.T) {
			s := newSim(3, 1, tm)
			failIf(t, s, s.run(time.Second))
			s.isolate(s.host("h1"))
			fenced, err := s.until(tm.FenceTimeout+tm.Skew, func() bool { return len(s.runs("vm1")) == 0 })
			failIf(t, s, err)
			took, err := s.until(tm.Predict(), runsOn(s, "vm1", "h2"))
			failIf(t, s, err)
			took += fenced
			if fenced < tm.FenceTimeout || took < tm.FailoverDelay || took > tm.Predict() {
				t.Fatalf("fenced after %v (fence_timeout %v), failed over after %v (failover_delay %v, predicted at most %v)\n%s",
					fenced, tm.FenceTimeout, took, tm.FailoverDelay, tm.Predict(), s.dump())
			}
			s.heal()
			failIf(t, s, s.run(tm.FailoverDelay+tm.Detection))
			if !runsOn(s, "vm1", "h2")() || s.host("h1").vms["vm1"].rec != (Record{Epoch: 2, Active: "h2", Passive: "h1", Desired: DesiredRunning}) {
				t.Fatalf("after the heal: %s", s.placement())
			}
		})
	}
}

// The active's agent hangs while its QEMU runs: the watchdog stops the QEMU
// before the passive takes over.
func TestScenarioHungActive(t *testing.T) {
	tm := Tuned()
	s := newSim(3, 1, tm)
	failIf(t, s, s.run(time.Second))
	s.pause(s.host("h1"))
	killed, err := s.until(tm.Watchdog+s.dt, func() bool { return len(s.runs("vm1")) == 0 })
	failIf(t, s, err)
	_, err = s.until(tm.Predict(), runsOn(s, "vm1", "h2"))
	failIf(t, s, err)
	s.resume(s.host("h1"))
	failIf(t, s, s.run(tm.FailoverDelay))
	if killed > tm.Watchdog || !runsOn(s, "vm1", "h2")() {
		t.Fatalf("watchdog after %v; now %s\n%s", killed, s.placement(), s.dump())
	}
}

// The checks can fail: with timers that break the rules, the simulator
// finds the double run each rule prevents.
func TestScenarioUnsafeTimersRunTwice(t *testing.T) {
	tuned := Tuned()
	dt := tuned.Skew / 2
	tests := []struct {
		name   string
		timers func(Timers) Timers
		play   func(s *sim)
	}{
		{"failover_delay shorter than fence_timeout",
			func(t Timers) Timers { t.FailoverDelay = t.FenceTimeout - dt; t.Detection = dt; return t },
			func(s *sim) { s.isolate(s.host("h1")) }},
		{"no watchdog, agent hangs",
			func(t Timers) Timers { t.Watchdog = 0; t.FailoverDelay = t.MinFailoverDelay(); return t },
			func(s *sim) { s.pause(s.host("h1")) }},
		{"failover_delay without the watchdog's share, agent hangs just before fencing",
			func(t Timers) Timers { t.FailoverDelay = t.FenceTimeout + t.Watchdog - 2*dt; return t },
			func(s *sim) {
				h1 := s.host("h1")
				s.isolate(h1)
				s.later = append(s.later, scheduled{s.t.Add(s.timers.FenceTimeout), func() { s.pause(h1) }})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(3, 1, tt.timers(tuned))
			failIf(t, s, s.run(time.Second))
			tt.play(s)
			err := s.run(10 * time.Second)
			if err == nil || !strings.Contains(err.Error(), "vm1 runs on h1 (epoch 1) and h2 (epoch 2) at once") {
				t.Fatalf("want a double run, got %v\n%s", err, s.dump())
			}
			// The same play with the valid timers is safe.
			s = newSim(3, 1, tuned)
			failIf(t, s, s.run(time.Second))
			tt.play(s)
			failIf(t, s, s.run(10*time.Second))
		})
	}
}

// The old active regains a majority without hearing of the failover: it
// restarts its (older) copy only once the new active, cut off in turn, has
// been silent to that majority for FailoverDelay, so has fenced. After the
// heal the newer epoch wins and the old copy goes.
func TestScenarioOldActiveRegainsQuorum(t *testing.T) {
	tm := Tuned()
	s := newSim(3, 1, tm)
	failIf(t, s, s.run(time.Second))
	s.isolate(s.host("h1"))
	_, err := s.until(tm.Predict()+tm.Skew, runsOn(s, "vm1", "h2"))
	failIf(t, s, err)
	failIf(t, s, s.run(time.Second))
	s.partition(map[string]int{"h1": 1, "h3": 1, "h2": 2})
	h2stopped := false
	took, err := s.until(3*tm.FailoverDelay, func() bool {
		if len(s.runs("vm1")) == 0 {
			h2stopped = true
		}
		return runsOn(s, "vm1", "h1")()
	})
	failIf(t, s, err)
	if !h2stopped || took < tm.FailoverDelay {
		t.Fatalf("h1 restarted after %v (failover_delay %v), h2 stopped first: %v\n%s", took, tm.FailoverDelay, h2stopped, s.dump())
	}
	s.heal()
	_, err = s.until(3*tm.FailoverDelay, func() bool {
		return runsOn(s, "vm1", "h2")() && s.host("h1").vms["vm1"].rec.Epoch == 2
	})
	failIf(t, s, err)
}

// A host that left comes back where the passive cannot see it. A left host
// must still count and be waited for: otherwise the passive, believing it
// gone, starts a VM the returned host runs.
func TestScenarioLeftHostReturnsUnseen(t *testing.T) {
	tm := Tuned()
	s := newSim(3, 1, tm)
	failIf(t, s, s.run(time.Second))
	s.leave(s.host("h1"))
	_, err := s.until(tm.Predict()+tm.Skew, runsOn(s, "vm1", "h2"))
	failIf(t, s, err)
	s.partition(map[string]int{"h1": 1, "h3": 1, "h2": 2})
	s.rejoin(s.host("h1"))
	_, err = s.until(3*tm.FailoverDelay, runsOn(s, "vm1", "h1"))
	failIf(t, s, err)
	failIf(t, s, s.run(time.Second))
	s.partition(map[string]int{"h1": 1, "h3": 2, "h2": 2}) // h2 still believes h1 left
	_, err = s.until(3*tm.FailoverDelay, runsOn(s, "vm1", "h2"))
	failIf(t, s, err)
}

// Two hosts that both believe they own the VM reconnect at once through a
// third while the link between them is down. The third's report says it
// has heard neither for long; counted for both, both would start. A witness
// counts only once it has heard the host it vouches for, so neither starts
// until they can see each other; then the newer record wins.
func TestScenarioSimultaneousReconnect(t *testing.T) {
	tm := Tuned()
	s := newSim(3, 1, tm)
	failIf(t, s, s.run(time.Second))
	s.isolate(s.host("h1"))
	_, err := s.until(tm.Predict()+tm.Skew, runsOn(s, "vm1", "h2"))
	failIf(t, s, err)
	s.partition(map[string]int{"h1": 1, "h2": 2, "h3": 3})
	failIf(t, s, s.run(2*tm.FailoverDelay))
	s.heal()
	s.cut[link("h1", "h2")] = true
	failIf(t, s, s.run(2*tm.FailoverDelay))
	if on := s.runs("vm1"); len(on) != 0 {
		t.Fatalf("vm1 runs on %v while h1 and h2 cannot see each other\n%s", on, s.dump())
	}
	s.heal()
	_, err = s.until(tm.FailoverDelay, runsOn(s, "vm1", "h2"))
	failIf(t, s, err)
}
