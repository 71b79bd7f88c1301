package ha

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tables below look at a three-host cluster h1, h2, h3 from one host,
// with DefaultTimers (FenceTimeout 5 s, FailoverDelay 11 s, Skew 1 s). vm1
// has h1 as its active and h2 as its passive, epoch 1.

var (
	boot = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // the agent's start
	now  = boot.Add(time.Hour)
	tm   = DefaultTimers()
	rec1 = Record{Epoch: 1, Active: "h1", Passive: "h2", Desired: DesiredRunning}
	rec2 = Record{Epoch: 2, Active: "h2", Passive: "h1", Desired: DesiredRunning}
)

// peer is a member in contact: it exchanged reports 100 ms ago and has
// heard from every host within that, unless heard says otherwise.
func peer(vms map[string]Seen, heard map[string]time.Duration) Member {
	h := map[string]time.Duration{"h1": 100 * time.Millisecond, "h2": 100 * time.Millisecond, "h3": 100 * time.Millisecond}
	maps.Copy(h, heard)
	return Member{Status: Alive, LastHeard: now.Add(-100 * time.Millisecond), LastExchange: now.Add(-100 * time.Millisecond), Healthy: true,
		Report: &Report{Quorate: true, Heard: h, VMs: vms}}
}

// gone is a member last heard from ago, with its status in gossip and its
// last report (stale).
func gone(status Status, ago time.Duration, vms map[string]Seen) Member {
	return Member{Status: status, LastHeard: now.Add(-ago), LastExchange: now.Add(-ago), Healthy: true,
		Report: &Report{Quorate: true, Heard: map[string]time.Duration{}, VMs: vms}}
}

func seen(r Record, running bool) Seen {
	s := Seen{Record: r, Running: running}
	if running {
		s.Epoch = r.Epoch
	}
	return s
}

func running(r Record) VM {
	return VM{Name: "vm1", Record: r, Local: Local{Running: true, Epoch: r.Epoch}}
}

func stopped(r Record) VM { return VM{Name: "vm1", Record: r} }

func state(self string, vm VM, members map[string]Member) State {
	return State{Self: self, Start: boot, Healthy: true, Members: members, VMs: []VM{vm}, Timers: tm}
}

// want is an expected action: kind, VM, epoch, destination, and a piece of
// its reason.
type want struct {
	kind   Kind
	epoch  uint64
	to     string
	reason string
}

func TestDecide(t *testing.T) {
	// h3 in contact, silent to h1 for d (and hearing from every other host).
	witness := func(silentTo string, d time.Duration) Member {
		return peer(nil, map[string]time.Duration{silentTo: d})
	}
	tests := []struct {
		name  string
		rule  int
		state State
		want  []want
		note  string // in the VM's Explain note when there is no action
	}{
		// Rule 1: fencing.
		{"quorate active keeps running", 1,
			state("h1", running(rec1), map[string]Member{"h2": peer(map[string]Seen{"vm1": seen(rec1, false)}, nil), "h3": peer(nil, nil)}),
			nil, "runs here (epoch 1)"},
		{"one host lost: still a majority", 1,
			state("h1", running(rec1), map[string]Member{"h2": gone(Failed, time.Minute, nil), "h3": peer(nil, nil)}),
			nil, "runs here"},
		{"majority lost 1ns short of fence_timeout: nothing yet", 1,
			state("h1", running(rec1), map[string]Member{"h2": gone(Failed, tm.FenceTimeout-1, nil), "h3": gone(Failed, tm.FenceTimeout-1, nil)}),
			nil, "runs here"},
		{"majority lost for fence_timeout: self-fence", 1,
			state("h1", running(rec1), map[string]Member{"h2": gone(Failed, tm.FenceTimeout, nil), "h3": gone(Failed, time.Hour, nil)}),
			[]want{{Destroy, 1, "", "self-fencing: this host has not heard from a majority (2 of 3 hosts) for 5s"}}, ""},
		{"the lease counts exchanges, not gossip: alive but silent peers do not hold it", 1,
			state("h1", running(rec1), map[string]Member{"h2": gone(Alive, tm.FenceTimeout, nil), "h3": gone(Alive, tm.FenceTimeout, nil)}),
			[]want{{Destroy, 1, "", "self-fencing"}}, ""},
		{"an agent that restarted and heard no majority yet fences", 1,
			func() State {
				s := state("h1", running(rec1), map[string]Member{"h2": {Status: Failed}, "h3": {Status: Failed}})
				s.Start = now.Add(-time.Second)
				return s
			}(),
			[]want{{Destroy, 1, "", "since its agent started"}}, ""},
		{"a host that left still counts: two of three gone is no majority", 1,
			state("h1", running(rec1), map[string]Member{"h2": gone(Left, time.Minute, nil), "h3": gone(Failed, time.Minute, nil)}),
			[]want{{Destroy, 1, "", "self-fencing"}}, ""},

		// Rule 2: failover by the passive.
		{"active failed, silent to a majority for failover_delay: start with epoch+1, roles swapped", 2,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Failed, tm.FailoverDelay, map[string]Seen{"vm1": seen(rec1, true)}), "h3": witness("h1", tm.FailoverDelay)}),
			[]want{{Start, 2, "", "failover: the active h1 failed"}}, ""},
		{"1ns short of failover_delay since last heard: wait", 2,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Failed, tm.FailoverDelay-1, nil), "h3": witness("h1", tm.FailoverDelay)}),
			nil, "waiting: h1 may still run HA VMs: 1 of the 2 hosts needed"},
		{"the other witness heard the active recently: wait", 2,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Failed, time.Minute, nil), "h3": witness("h1", 2*time.Second)}),
			nil, "waiting: h1 may still run HA VMs"},
		{"a witness that has not heard this host since it went silent does not count", 2,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Failed, time.Minute, nil),
				"h3": peer(nil, map[string]time.Duration{"h1": time.Minute, "h2": time.Minute})}),
			nil, "waiting"},
		{"active alive in gossip but its reports stopped: slow, not failed", 2,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Alive, time.Minute, nil), "h3": witness("h1", time.Minute)}),
			nil, "waiting for gossip to declare it failed"},
		{"passive without quorum: nothing", 2,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Failed, time.Minute, nil), "h3": gone(Failed, time.Minute, nil)}),
			nil, "no quorum"},
		{"passive in maintenance takes over nothing", 2,
			func() State {
				s := state("h2", stopped(rec1), map[string]Member{"h1": gone(Failed, time.Minute, nil), "h3": witness("h1", time.Minute)})
				s.Maintenance = true
				return s
			}(),
			nil, "in maintenance"},
		{"the stale report of a failed active saying running is not a runner", 2,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Failed, time.Minute, map[string]Seen{"vm1": seen(rec1, true)}), "h3": witness("h1", time.Minute)}),
			[]want{{Start, 2, "", "failover"}}, ""},
		{"a host in contact runs it: nothing", 2,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Failed, time.Minute, nil), "h3": peer(map[string]Seen{"vm1": seen(rec1, true)}, map[string]time.Duration{"h1": time.Minute})}),
			nil, "runs on h3"},
		{"neither active nor passive: nothing", 2,
			state("h3", stopped(rec1), map[string]Member{"h1": gone(Failed, time.Minute, nil), "h2": witness("h1", time.Minute)}),
			nil, "neither the active"},

		// Rule 3: epochs.
		{"returning old active sees a newer epoch running: destroys its copy and adopts", 3,
			state("h1", running(rec1), map[string]Member{"h2": peer(map[string]Seen{"vm1": seen(rec2, true)}, nil), "h3": peer(nil, nil)}),
			[]want{{Destroy, 1, "", "does not make this host the active"}, {Adopt, 2, "", "h2 has a newer record"}}, ""},
		{"a newer record from a host out of contact is enough to destroy", 3,
			state("h1", running(rec1), map[string]Member{"h2": gone(Failed, time.Minute, map[string]Seen{"vm1": seen(rec2, false)}), "h3": peer(nil, nil)}),
			[]want{{Destroy, 1, "", "newest record (epoch 2, active h2"}, {Adopt, 2, "", ""}}, ""},
		{"a host that knows a higher epoch never starts the VM: it adopts", 3,
			state("h1", stopped(rec1), map[string]Member{"h2": peer(map[string]Seen{"vm1": seen(rec2, false)}, nil), "h3": peer(nil, nil)}),
			[]want{{Adopt, 2, "", ""}}, ""},
		{"a newer copy runs elsewhere: the older one goes even on the active", 3,
			state("h1", running(rec1), map[string]Member{"h2": peer(map[string]Seen{"vm1": {Record: rec1, Running: true, Epoch: 3}}, nil), "h3": peer(nil, nil)}),
			[]want{{Destroy, 1, "", "h2 runs a newer copy (epoch 3)"}}, ""},
		{"an older copy elsewhere: the active keeps its own", 3,
			state("h2", running(rec2), map[string]Member{"h1": peer(map[string]Seen{"vm1": seen(rec1, true)}, nil), "h3": peer(nil, nil)}),
			nil, "runs here (epoch 2)"},

		// Rule 4: a VM that died on the active.
		{"died on the active: restart in place", 4,
			state("h1", VM{Name: "vm1", Record: rec1, Local: Local{DiedAt: now.Add(-time.Second)}}, map[string]Member{"h2": peer(nil, nil), "h3": peer(nil, nil)}),
			[]want{{Restart, 1, "", "died 1s ago: restart 1 of 3"}}, ""},
		{"died again after max_restarts: give up", 4,
			state("h1", VM{Name: "vm1", Record: rec1, Local: Local{DiedAt: now.Add(-time.Second), Restarts: 3}}, map[string]Member{"h2": peer(nil, nil), "h3": peer(nil, nil)}),
			nil, "given up here; the passive (h2) takes over"},
		{"the passive takes over from an active that gave up", 4,
			state("h2", stopped(rec1), map[string]Member{"h1": peer(map[string]Seen{"vm1": {Record: rec1, GaveUp: true}}, nil), "h3": peer(nil, nil)}),
			[]want{{Start, 2, "", "the active h1 gave up restarting it"}}, ""},
		{"the passive leaves an active that is still restarting alone", 4,
			state("h2", stopped(rec1), map[string]Member{"h1": peer(map[string]Seen{"vm1": seen(rec1, false)}, nil), "h3": peer(nil, nil)}),
			nil, "the active h1 is up and in charge"},

		// Rule 5: switchover.
		{"active in maintenance: live-migrate to the passive", 5,
			func() State {
				s := state("h1", running(rec1), map[string]Member{"h2": peer(map[string]Seen{"vm1": seen(rec1, false)}, nil), "h3": peer(nil, nil)})
				s.Maintenance = true
				return s
			}(),
			[]want{{Migrate, 2, "h2", "switchover: this host is in maintenance"}}, ""},
		{"active unhealthy: live-migrate", 5,
			func() State {
				s := state("h1", running(rec1), map[string]Member{"h2": peer(map[string]Seen{"vm1": seen(rec1, false)}, nil), "h3": peer(nil, nil)})
				s.Healthy = false
				return s
			}(),
			[]want{{Migrate, 2, "h2", "unhealthy"}}, ""},
		{"switchover asked for", 5,
			state("h1", VM{Name: "vm1", Record: rec1, Local: Local{Running: true, Epoch: 1}, Switchover: true}, map[string]Member{"h2": peer(map[string]Seen{"vm1": seen(rec1, false)}, nil), "h3": peer(nil, nil)}),
			[]want{{Migrate, 2, "h2", "a switchover was asked for"}}, ""},
		{"passive unhealthy: stay", 5,
			func() State {
				p := peer(map[string]Seen{"vm1": seen(rec1, false)}, nil)
				p.Healthy = false
				s := state("h1", running(rec1), map[string]Member{"h2": p, "h3": peer(nil, nil)})
				s.Maintenance = true
				return s
			}(),
			nil, "the passive h2 is unhealthy"},
		{"passive without quorum: stay", 5,
			func() State {
				p := peer(map[string]Seen{"vm1": seen(rec1, false)}, nil)
				p.Report.Quorate = false
				s := state("h1", running(rec1), map[string]Member{"h2": p, "h3": peer(nil, nil)})
				s.Healthy = false
				return s
			}(),
			nil, "the passive h2 has no quorum"},
		{"passive out of contact: stay", 5,
			func() State {
				s := state("h1", running(rec1), map[string]Member{"h2": gone(Failed, time.Minute, nil), "h3": peer(nil, nil)})
				s.Maintenance = true
				return s
			}(),
			nil, "the passive h2 is not in contact"},

		// Rule 6: quorum lost and back.
		{"the owner starts its fenced VM when quorum is back", 6,
			state("h1", stopped(rec1), map[string]Member{"h2": peer(map[string]Seen{"vm1": seen(rec1, false)}, nil), "h3": peer(nil, nil)}),
			[]want{{Start, 1, "", "this host is the active (epoch 1), it has quorum"}}, ""},
		{"the owner waits while a host it cannot see may run it", 6,
			state("h1", stopped(rec1), map[string]Member{"h2": gone(Failed, 2*time.Second, nil), "h3": witness("h2", 2*time.Second)}),
			nil, "waiting: h2 may still run HA VMs"},
		{"the owner starts once that host has been silent to a majority for failover_delay", 6,
			state("h1", stopped(rec1), map[string]Member{"h2": gone(Failed, tm.FailoverDelay, nil), "h3": witness("h2", tm.FailoverDelay)}),
			[]want{{Start, 1, "", "it has quorum"}}, ""},
		{"the owner without quorum waits", 6,
			state("h1", stopped(rec1), map[string]Member{"h2": gone(Failed, time.Hour, nil), "h3": gone(Failed, time.Hour, nil)}),
			nil, "no quorum"},
		{"a VM the user stopped stays down", 6,
			state("h1", stopped(Record{Epoch: 1, Active: "h1", Passive: "h2", Desired: DesiredStopped}), map[string]Member{"h2": peer(nil, nil), "h3": peer(nil, nil)}),
			nil, "says stopped"},
		{"a newer record that says stopped stops a running copy", 6,
			state("h1", running(rec1), map[string]Member{"h2": peer(map[string]Seen{"vm1": seen(Record{Epoch: 2, Active: "h1", Passive: "h2", Desired: DesiredStopped}, false)}, nil), "h3": peer(nil, nil)}),
			[]want{{Adopt, 2, "", ""}, {Stop, 1, "", "says stopped"}}, ""},

		// Rule 7: an active that left.
		{"active left: the passive takes over once it has been silent for failover_delay", 7,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Left, tm.FailoverDelay, nil), "h3": witness("h1", tm.FailoverDelay)}),
			[]want{{Start, 2, "", "the active h1 left the cluster"}}, ""},
		{"active left a moment ago: it may have come back unseen, wait", 7,
			state("h2", stopped(rec1), map[string]Member{"h1": gone(Left, time.Second, nil), "h3": witness("h1", time.Second)}),
			nil, "waiting: h1 may still run HA VMs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.state, now)
			check(t, got, tt.want)
			if len(tt.want) == 0 {
				d := Explain(tt.state, now)
				if len(d) != 1 || !strings.Contains(d[0].Note, tt.note) {
					t.Errorf("note %q, want it to contain %q", d[0].Note, tt.note)
				}
			}
			converge(t, tt.state, got)
		})
	}
}

func check(t *testing.T, got []Action, want []want) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d actions %v, want %d %v", len(got), got, len(want), want)
	}
	for i, w := range want {
		a := got[i]
		if a.Kind != w.kind || a.VM != "vm1" || a.Epoch != w.epoch || a.To != w.to || !strings.Contains(a.Reason, w.reason) {
			t.Errorf("action %d = %v, want %s vm1 epoch %d to %q reason containing %q", i, a, w.kind, w.epoch, w.to, w.reason)
		}
		switch a.Kind {
		case Start, Restart, Adopt, Migrate:
			if a.Record.Epoch != a.Epoch {
				t.Errorf("action %d writes record %v, epoch %d", i, a.Record, a.Epoch)
			}
		}
		if a.Kind == Start && a.Epoch > 1 && (a.Record.Active != "h2" || a.Record.Passive != "h1") {
			t.Errorf("failover record %v: the passive must become the active and the old active the passive", a.Record)
		}
		if a.Kind == Migrate && (a.Record.Active != a.To || a.Record.Passive != "h1") {
			t.Errorf("switchover record %v: the roles must swap", a.Record)
		}
	}
}

// execute applies acts to this host's view as the agent would, the effect
// of a Migrate included (the destination now reports the VM running).
func execute(s State, acts []Action) State {
	s.VMs = slices.Clone(s.VMs)
	s.Members = maps.Clone(s.Members)
	for _, a := range acts {
		i := slices.IndexFunc(s.VMs, func(v VM) bool { return v.Name == a.VM })
		vm := &s.VMs[i]
		switch a.Kind {
		case Start, Restart:
			vm.Local = Local{Running: true, Epoch: a.Epoch, Restarts: vm.Local.Restarts}
			if a.Kind == Restart {
				vm.Local.Restarts++
			} else {
				vm.Local.Restarts = 0
			}
			vm.Record = a.Record
		case Destroy, Stop:
			vm.Local.Running, vm.Local.Epoch = false, 0
		case Adopt:
			vm.Record = a.Record
		case Migrate:
			vm.Local.Running, vm.Local.Epoch, vm.Record, vm.Switchover = false, 0, a.Record, false
			m := s.Members[a.To]
			r := *m.Report
			r.VMs = maps.Clone(r.VMs)
			r.VMs[a.VM] = seen(a.Record, true)
			m.Report = &r
			s.Members[a.To] = m
		}
	}
	return s
}

// converge is rule 8: once the actions are done, Decide does not ask for
// them again, and the host settles within a few rounds.
func converge(t *testing.T, s State, acts []Action) {
	t.Helper()
	done := slices.Clone(acts)
	for round := 0; len(acts) > 0; round++ {
		if round == 3 {
			t.Fatalf("no fixed point after 3 rounds: still %v", acts)
		}
		s = execute(s, acts)
		acts = Decide(s, now)
		for _, a := range acts {
			if slices.ContainsFunc(done, func(d Action) bool { return d.Kind == a.Kind && d.VM == a.VM && d.Epoch == a.Epoch }) {
				t.Fatalf("Decide asks again for %v once it is done", a)
			}
		}
		done = append(done, acts...)
	}
}

// A failover, step by step in time, from the passive's view: the rule is
// about the time since the active was last heard from, not the time of its
// detection, and the start happens once.
func TestFailoverTimeline(t *testing.T) {
	lost := now.Add(-time.Minute) // the last exchange with h1
	view := func(at time.Time, status Status) State {
		h1 := Member{Status: status, LastHeard: lost, LastExchange: lost, Report: &Report{VMs: map[string]Seen{"vm1": seen(rec1, true)}}}
		h3 := Member{Status: Alive, LastHeard: at, LastExchange: at, Healthy: true, Report: &Report{Quorate: true,
			Heard: map[string]time.Duration{"h1": at.Sub(lost), "h2": 0}}}
		return state("h2", stopped(rec1), map[string]Member{"h1": h1, "h3": h3})
	}
	var started []time.Duration
	for d := time.Duration(0); d <= 2*tm.FailoverDelay; d += 100 * time.Millisecond {
		at := lost.Add(d)
		status := Alive
		if d >= tm.Detection {
			status = Failed
		}
		s := view(at, status)
		if acts := Decide(s, at); len(acts) > 0 {
			started = append(started, d)
			if acts[0].Kind != Start || acts[0].Epoch != 2 {
				t.Fatalf("at %v: %v", d, acts)
			}
			break
		}
	}
	if len(started) != 1 || started[0] != tm.FailoverDelay {
		t.Fatalf("started after %v, want exactly failover_delay %v after the last exchange", started, tm.FailoverDelay)
	}
}

func TestQuorumAndLease(t *testing.T) {
	tests := []struct {
		name      string
		members   map[string]Member
		hosts     int
		inContact int
		has       bool
		leaseEnd  time.Time
	}{
		{"all in contact: the lease runs from the exchange with the majority", map[string]Member{"h2": peer(nil, nil), "h3": peer(nil, nil)}, 3, 3, true, now.Add(-100*time.Millisecond + tm.FenceTimeout)},
		{"one failed", map[string]Member{"h2": gone(Failed, 30*time.Second, nil), "h3": peer(nil, nil)}, 3, 2, true, now.Add(-100*time.Millisecond + tm.FenceTimeout)},
		{"alone: the lease runs from the second most recent exchange", map[string]Member{"h2": gone(Failed, 30*time.Second, nil), "h3": gone(Failed, 2*time.Second, nil)}, 3, 1, false, now.Add(-2*time.Second + tm.FenceTimeout)},
		{"left hosts count", map[string]Member{"h2": gone(Left, time.Hour, nil), "h3": gone(Left, time.Hour, nil), "h4": peer(nil, nil), "h5": peer(nil, nil)}, 5, 3, true, now.Add(-100*time.Millisecond + tm.FenceTimeout)},
		{"half of four is not a majority", map[string]Member{"h2": peer(nil, nil), "h3": gone(Failed, time.Hour, nil), "h4": gone(Failed, time.Hour, nil)}, 4, 2, false, now.Add(-time.Hour + tm.FenceTimeout)},
		{"never heard", map[string]Member{"h2": {Status: Failed}, "h3": {Status: Failed}}, 3, 1, false, time.Time{}},
		{"a stale report is no contact", map[string]Member{"h2": gone(Alive, 1500*time.Millisecond, nil), "h3": gone(Alive, 1500*time.Millisecond, nil)}, 3, 1, false, now.Add(-1500*time.Millisecond + tm.FenceTimeout)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := State{Self: "h1", Start: boot, Members: tt.members, Timers: tm}
			q := s.Quorum(now)
			if q.Hosts != tt.hosts || q.InContact != tt.inContact || q.Has() != tt.has || !q.LeaseEnd.Equal(tt.leaseEnd) {
				t.Fatalf("got %+v (%s), want hosts %d in contact %d has %v lease end %v", q, q, tt.hosts, tt.inContact, tt.has, tt.leaseEnd)
			}
		})
	}
}

func TestReport(t *testing.T) {
	s := State{Self: "h1", Start: now.Add(-3 * time.Second), Timers: tm,
		Members: map[string]Member{"h2": peer(nil, nil), "h3": {Status: Failed}, "h4": gone(Failed, time.Hour, nil), "h5": peer(nil, nil)},
		VMs: []VM{
			running(rec1),
			{Name: "vm2", Record: rec1, Local: Local{DiedAt: now.Add(-time.Second), Restarts: tm.MaxRestarts}},
			{Name: "vm3", Record: rec1, Local: Local{DiedAt: now.Add(-time.Second), Restarts: tm.MaxRestarts - 1}},
			{Name: "vm4", Record: rec2, Local: Local{DiedAt: now.Add(-time.Second), Restarts: tm.MaxRestarts}},
		}}
	r := s.Report(now)
	if !r.Quorate {
		t.Error("h1 hears h2, h5 and itself, 3 of 5: quorate")
	}
	// A host never heard since the agent started counts as heard at the
	// start, a host heard before it too: the agent cannot vouch for more.
	wantHeard := map[string]time.Duration{"h2": 100 * time.Millisecond, "h3": 3 * time.Second, "h4": 3 * time.Second, "h5": 100 * time.Millisecond}
	if !maps.Equal(r.Heard, wantHeard) {
		t.Errorf("heard %v, want %v", r.Heard, wantHeard)
	}
	if v := r.VMs["vm1"]; !v.Running || v.Epoch != 1 || v.Record != rec1 || v.GaveUp {
		t.Errorf("vm1 %+v", v)
	}
	if !r.VMs["vm2"].GaveUp || r.VMs["vm3"].GaveUp || r.VMs["vm4"].GaveUp {
		t.Errorf("gave up: vm2 (active, restarts used) %v, vm3 (one left) %v, vm4 (not the active) %v",
			r.VMs["vm2"].GaveUp, r.VMs["vm3"].GaveUp, r.VMs["vm4"].GaveUp)
	}
}

func TestPetWatchdog(t *testing.T) {
	quorate := map[string]Member{"h2": peer(nil, nil), "h3": peer(nil, nil)}
	lost := map[string]Member{"h2": gone(Failed, tm.FenceTimeout, nil), "h3": gone(Failed, tm.FenceTimeout, nil)}
	tests := []struct {
		name    string
		vm      VM
		members map[string]Member
		pet     bool
	}{
		{"running under the lease", running(rec1), quorate, true},
		{"running, lease over: the agent must fence first", running(rec1), lost, false},
		{"nothing running, no lease", stopped(rec1), lost, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := state("h1", tt.vm, tt.members).PetWatchdog(now); got != tt.pet {
				t.Fatalf("PetWatchdog = %v, want %v", got, tt.pet)
			}
		})
	}
	// After the fence Decide asks for, petting resumes.
	s := state("h1", running(rec1), lost)
	if s = execute(s, Decide(s, now)); !s.PetWatchdog(now) {
		t.Fatal("after fencing, the agent may pet again")
	}
}

func TestRecordNewer(t *testing.T) {
	a := Record{Epoch: 2, Active: "h1", Passive: "h2", Desired: DesiredRunning}
	tests := []struct {
		name string
		r, o Record
		want bool
	}{
		{"higher epoch", a, Record{Epoch: 1, Active: "h9"}, true},
		{"lower epoch", Record{Epoch: 1, Active: "h9"}, a, false},
		{"same record", a, a, false},
		{"tie: greater active", Record{Epoch: 2, Active: "h2"}, a, true},
		{"tie: stop wins over start", Record{Epoch: 2, Active: "h1", Passive: "h2", Desired: DesiredStopped}, a, true},
	}
	for _, tt := range tests {
		if got := tt.r.Newer(tt.o); got != tt.want {
			t.Errorf("%s: %v.Newer(%v) = %v", tt.name, tt.r, tt.o, got)
		}
		if tt.r != tt.o && tt.r.Newer(tt.o) == tt.o.Newer(tt.r) {
			t.Errorf("%s: not a strict order", tt.name)
		}
	}
}

func TestDecideIsDeterministicAndOrdered(t *testing.T) {
	s := state("h1", running(rec1), map[string]Member{"h2": gone(Failed, time.Hour, nil), "h3": gone(Failed, time.Hour, nil)})
	s.VMs = []VM{
		{Name: "vm3", Record: rec1, Local: Local{Running: true, Epoch: 1}},
		{Name: "vm1", Record: rec1, Local: Local{Running: true, Epoch: 1}},
		{Name: "vm2", Record: rec1},
	}
	first := Decide(s, now)
	if len(first) != 2 || first[0].VM != "vm1" || first[1].VM != "vm3" {
		t.Fatalf("got %v, want destroys of vm1 then vm3 (the stopped vm2 needs nothing)", first)
	}
	for range 20 {
		if again := Decide(s, now); !slices.Equal(again, first) {
			t.Fatalf("Decide changed its answer: %v then %v", first, again)
		}
	}
}

// A one-way link: this host hears h2 and h3 ask for its report, but their
// answers to its own requests are lost. It heard them (they are not silent)
// but has exchanged with no one: no lease, so its copy goes.
func TestOneWayHearingGivesNoLease(t *testing.T) {
	asked := func() Member {
		m := peer(nil, nil)
		m.LastExchange = now.Add(-time.Minute)
		return m
	}
	s := state("h1", running(rec1), map[string]Member{"h2": asked(), "h3": asked()})
	acts := Decide(s, now)
	if len(acts) == 0 || acts[0].Kind != Destroy {
		t.Fatalf("want the copy destroyed without a lease, got %v", acts)
	}
	if q := s.Quorum(now); q.Has() {
		t.Fatalf("quorum from one-way hearing: %v", q)
	}
}
