package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/tests/lab"
)

// tunedHA are the tuned HA timers (runtime/ha.Tuned) without a watchdog:
// a failover starts within 2.5 s + skew of the active host's last word.
const tunedHA = "ha: {fence_timeout: 1s, skew: 250ms, failover_delay: 2500ms}"

// haLab is three lab hosts, each with its own libvirtd and agent, with the
// tuned HA timers.
type haLab struct {
	agents []*labAgent
	lvs    []*lab.Libvirtd
	net    *lab.Net
}

func newHALab(t *testing.T, extra ...string) *haLab {
	agents, lvs, n := vmClusterWith(t, append([]string{tunedHA}, extra...)...)
	return &haLab{agents: agents, lvs: lvs, net: n}
}

// runsOn lists the hosts whose libvirtd runs the domain. A paused domain
// does not count: a live migration's target waits paused for the guest,
// and the source pauses before the target resumes.
func (l *haLab) runsOn(t *testing.T, name string) []string {
	var on []string
	for i, lv := range l.lvs {
		out, err := virsh(lv.Socket, "domstate", name)
		if err == nil && out == "running" {
			on = append(on, l.agents[i].name)
		}
	}
	return on
}

// watchNoDoubleRun asks every libvirtd in turn, every 100 ms, whether it
// runs the domain, and fails the test if two did at once: host X seen
// running before and after host Y was seen running. (Y seen after X alone
// is a move: X may have stopped in between.) stop ends it.
func (l *haLab) watchNoDoubleRun(t *testing.T, name string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		type seen struct {
			host string
			at   int
		}
		var runs []seen // running observations, in order
		n := 0
		for {
			for i, lv := range l.lvs {
				n++
				if out, err := virsh(lv.Socket, "domstate", name); err == nil && out == "running" {
					host := l.agents[i].name
					for j, y := range runs {
						if y.host == host {
							continue
						}
						for _, x := range runs[:j] {
							if x.host == host {
								t.Errorf("%s ran on %s and %s at once (observations %d, %d, %d)", name, host, y.host, x.at, y.at, n)
							}
						}
					}
					runs = append(runs, seen{host, n})
				} else {
					// Not running here now: earlier sightings here no longer
					// bracket anything.
					kept := runs[:0]
					for _, r := range runs {
						if r.host != l.agents[i].name {
							kept = append(kept, r)
						}
					}
					runs = kept
				}
			}
			if len(runs) > 20 {
				runs = runs[len(runs)-20:]
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// killQEMUs kills every QEMU in the lab host's namespace (a host dying
// takes its guests with it).
func killQEMUs(t *testing.T, h *lab.Host) int {
	out, err := exec.Command("ip", "netns", "pids", h.NS).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", h.NS, err)
	}
	n := 0
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.HasPrefix(string(comm), "qemu-system") {
			if p, err := os.FindProcess(pid); err == nil && p.Kill() == nil {
				n++
			}
		}
	}
	return n
}

func (l *haLab) agent(name string) *labAgent {
	for _, a := range l.agents {
		if a.name == name {
			return a
		}
	}
	return nil
}

func haStatusOf(t *testing.T, a *labAgent) api.HAStatus {
	t.Helper()
	var st api.HAStatus
	if err := json.Unmarshal([]byte(a.ok(t, "ha", "status", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestMigrateAndDrain moves running TCG guests between lab hosts with
// vmnode, checks libvirt's own view, and refuses the bad requests.
func TestMigrateAndDrain(t *testing.T) {
	l := newHALab(t)
	h1, h3 := l.agents[0], l.agents[2]
	vm := uniqueName("mig")
	h1.ok(t, "vm", "create", vm, "--memory", "64M", "--host", "h1")
	h1.ok(t, "vm", "start", vm)

	out := h3.ok(t, "vm", "migrate", vm, "--to", "h2")
	if !strings.Contains(out, "migrated "+vm+" from h1 to h2") {
		t.Errorf("migrate output: %q", out)
	}
	if on := l.runsOn(t, vm); len(on) != 1 || on[0] != "h2" {
		t.Fatalf("after migrate, %s runs on %v, want h2", vm, on)
	}
	if _, err := virsh(l.lvs[0].Socket, "domstate", vm); err == nil {
		t.Errorf("%s is still defined on h1", vm)
	}
	if v := h1.show(t, vm); v.Host != "h2" || v.State != "running" {
		t.Errorf("vm show after migrate: host %s state %s", v.Host, v.State)
	}

	h1.refused(t, []string{"already on h2"}, "vm", "migrate", vm, "--to", "h2")
	h1.refused(t, []string{"running", "--offline"}, "vm", "migrate", vm, "--to", "h1", "--offline")
	h1.refused(t, []string{"not a member"}, "vm", "migrate", vm, "--to", "nosuchhost")

	// A host in maintenance takes nothing; draining h2 moves the VM away.
	h1.ok(t, "host", "drain", "h3")
	h1.refused(t, []string{"h3 is in maintenance"}, "vm", "migrate", vm, "--to", "h3")
	out = h1.ok(t, "host", "drain", "h2")
	if on := l.runsOn(t, vm); len(on) != 1 || on[0] != "h1" {
		t.Fatalf("after draining h2 (h3 in maintenance), %s runs on %v, want h1\n%s", vm, on, out)
	}
	h1.ok(t, "host", "resume", "h3")
	h1.ok(t, "host", "resume", "h2")
}

// TestHAFailoverAndSwitchover makes a VM highly available, switches it over
// live, then kills its active host (agent and QEMUs) and checks that the
// passive starts it within the predicted time, never two copies at once.
func TestHAFailoverAndSwitchover(t *testing.T) {
	l := newHALab(t)
	h1 := l.agents[0]
	vm := uniqueName("ha")
	h1.ok(t, "vm", "create", vm, "--memory", "64M", "--host", "h1")
	h1.ok(t, "vm", "start", vm)

	h1.refused(t, []string{"--passive h1 is the active host"}, "ha", "enable", vm, "--passive", "h1")
	h1.ok(t, "ha", "enable", vm, "--passive", "h2")
	if st := domState(t, l.lvs[1].Socket, vm); st != "shut off" {
		t.Errorf("the passive h2's copy is %q, want shut off", st)
	}
	h1.refused(t, []string{"passive host h2"}, "vm", "migrate", vm, "--to", "h3")
	h1.refused(t, []string{"ha disable"}, "vm", "delete", vm, "--force")
	st := haStatusOf(t, h1)
	if len(st.VMs) != 1 || st.VMs[0].Active != "h1" || st.VMs[0].Passive != "h2" || st.VMs[0].State != "running" {
		t.Fatalf("ha status: %+v", st.VMs)
	}
	t.Logf("predicted recovery %v", st.Predicted)

	stop := l.watchNoDoubleRun(t, vm)
	defer stop()

	// Switchover: live to h2, roles swapped.
	began := time.Now()
	h1.ok(t, "ha", "switchover", vm)
	if on := l.runsOn(t, vm); len(on) != 1 || on[0] != "h2" {
		t.Fatalf("after switchover, %s runs on %v, want h2", vm, on)
	}
	t.Logf("switchover took %v", time.Since(began))
	waitFor(t, "roles swapped", 10*time.Second, func() bool {
		s := haStatusOf(t, h1)
		return len(s.VMs) == 1 && s.VMs[0].Active == "h2" && s.VMs[0].Passive == "h1"
	})

	// Failover: h2 dies (agent and guests); h1 takes over.
	h2 := l.agent("h2")
	h2.proc.Signal(syscall.SIGKILL)
	killed := time.Now()
	if n := killQEMUs(t, h2.host); n == 0 {
		t.Fatal("no QEMU to kill on h2")
	}
	waitFor(t, vm+" running on h1", 30*time.Second, func() bool {
		on := l.runsOn(t, vm)
		return len(on) == 1 && on[0] == "h1"
	})
	took := time.Since(killed)
	t.Logf("failover took %v (predicted %v)", took, st.Predicted)
	if took > st.Predicted+3*time.Second {
		t.Errorf("failover took %v, predicted %v", took, st.Predicted)
	}
}

// waitRunsOn waits until vm runs on host alone; on a timeout it shows what
// every agent's rules say.
func (l *haLab) waitRunsOn(t *testing.T, vm, host string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if slices.Equal(l.runsOn(t, vm), []string{host}) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, a := range l.agents {
		if a.proc.Alive() {
			r := a.cli(t, "ha", "status")
			t.Logf("%s: ha status:\n%s%s", a.name, r.stdout, r.stderr)
		}
	}
	t.Fatalf("%s does not run on %s alone after %v: on %v", vm, host, timeout, l.runsOn(t, vm))
}

// haVM creates a running VM on h1 and makes it HA with h2 as its passive.
func (l *haLab) haVM(t *testing.T) string {
	h1 := l.agents[0]
	vm := uniqueName("ha")
	h1.ok(t, "vm", "create", vm, "--memory", "64M", "--host", "h1")
	h1.ok(t, "vm", "start", vm)
	h1.ok(t, "ha", "enable", vm, "--passive", "h2")
	return vm
}

// record is the HA record of vm as agent a's ha status has it; zero if it
// is not there (yet: right after a partition heals, views still differ).
func record(t *testing.T, a *labAgent, vm string) api.HAVM {
	for _, v := range haStatusOf(t, a).VMs {
		if v.Name == vm {
			return v
		}
	}
	return api.HAVM{}
}

// TestHAPartition isolates the active host alone: it fences its copy, the
// majority side starts the VM on the passive; after healing exactly one
// copy runs, and the old active has become the passive.
func TestHAPartition(t *testing.T) {
	l := newHALab(t)
	h1, h2, h3 := l.agents[0], l.agents[1], l.agents[2]
	vm := l.haVM(t)
	var epoch uint64
	waitFor(t, "h2's ha status", 10*time.Second, func() bool { epoch = record(t, h2, vm).Epoch; return epoch > 0 })
	stop := l.watchNoDoubleRun(t, vm)
	defer stop()

	cut := time.Now()
	l.net.Partition([]*lab.Host{h1.host}, []*lab.Host{h2.host, h3.host})
	waitFor(t, "h1 fencing "+vm, 10*time.Second, func() bool { return !slices.Contains(l.runsOn(t, vm), "h1") })
	t.Logf("h1 fenced after %v", time.Since(cut))
	l.waitRunsOn(t, vm, "h2", 20*time.Second)
	t.Logf("h2 took over after %v", time.Since(cut))

	l.net.Heal()
	waitFor(t, "h1 adopting the new record", 15*time.Second, func() bool {
		r := record(t, h1, vm)
		return r.Active == "h2" && r.Passive == "h1" && r.Epoch > epoch
	})
	time.Sleep(2 * time.Second) // long enough for a wrong restart to show
	if on := l.runsOn(t, vm); !slices.Equal(on, []string{"h2"}) {
		t.Fatalf("after healing, %s runs on %v, want h2 only", vm, on)
	}
	waitFor(t, "h3 seeing h2 as the active", 10*time.Second, func() bool { return record(t, h3, vm).Active == "h2" })
}

// TestHAAgentHangWatchdog freezes the active host's agent (SIGSTOP) while
// its QEMU goes on: the host's watchdog, no longer petted, fires and stops
// the guest (the lab stand-in kills the host's QEMUs, as a reset would);
// the majority starts the VM on the passive; the agent, thawed, adopts the
// newer record and does not start its copy.
func TestHAAgentHangWatchdog(t *testing.T) {
	dir := t.TempDir()
	ln := lab.NewNet(t, 3)
	dogs := map[string]*lab.Watchdog{}
	for i, h := range ln.Hosts() {
		name := fmt.Sprintf("h%d", i+1)
		dogs[name] = lab.StartWatchdog(t, filepath.Join(dir, name+".wd"), time.Second, func() { killQEMUs(t, h) })
	}
	agents, lvs := vmClusterOn(t, ln, tunedHA[:len(tunedHA)-1]+", watchdog: 1s, watchdog_device: "+dir+"/{name}.wd}")
	l := &haLab{agents: agents, lvs: lvs, net: ln}
	h1 := agents[0]
	vm := l.haVM(t)
	stop := l.watchNoDoubleRun(t, vm)
	defer stop()
	if dogs["h1"].LastPet().IsZero() {
		t.Fatal("h1's agent never petted its watchdog")
	}

	hung := time.Now()
	if err := h1.proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "h1's watchdog firing", 10*time.Second, func() bool { return len(dogs["h1"].Fired()) > 0 })
	t.Logf("h1's watchdog fired %v after the hang", dogs["h1"].Fired()[0].Sub(hung))
	l.waitRunsOn(t, vm, "h2", 20*time.Second)
	t.Logf("h2 took over %v after the hang", time.Since(hung))

	if err := h1.proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "h1 adopting the new record", 15*time.Second, func() bool { return record(t, h1, vm).Active == "h2" })
	time.Sleep(2 * time.Second)
	if on := l.runsOn(t, vm); !slices.Equal(on, []string{"h2"}) {
		t.Fatalf("after the thaw, %s runs on %v, want h2 only", vm, on)
	}
	for _, name := range []string{"h2", "h3"} {
		if f := dogs[name].Fired(); len(f) > 0 {
			t.Errorf("%s's watchdog fired on a working agent", name)
		}
	}
}

// TestHARandomized runs a seeded, bounded sequence of random partitions,
// guest kills, agent hangs (with watchdogs) and switchovers against three
// lab hosts. Throughout, every libvirtd is asked every 100 ms that the HA VM
// never runs on two hosts; after every step, that it runs on the active of
// the newest record, on the majority's side. VMNODE_HA_SEED picks the seed
// (the default is fixed: the run is reproducible), VMNODE_HA_STEPS the
// number of steps.
func TestHARandomized(t *testing.T) {
	seed := uint64(20261121)
	if s, err := strconv.ParseUint(os.Getenv("VMNODE_HA_SEED"), 10, 64); err == nil {
		seed = s
	}
	steps := 8
	if n, err := strconv.Atoi(os.Getenv("VMNODE_HA_STEPS")); err == nil && n > 0 {
		steps = n
	}
	t.Logf("seed %d, %d steps (VMNODE_HA_SEED, VMNODE_HA_STEPS)", seed, steps)
	rng := rand.New(rand.NewPCG(seed, seed))

	dir := t.TempDir()
	ln := lab.NewNet(t, 3)
	for i, h := range ln.Hosts() {
		lab.StartWatchdog(t, filepath.Join(dir, fmt.Sprintf("h%d.wd", i+1)), time.Second, func() { killQEMUs(t, h) })
	}
	agents, lvs := vmClusterOn(t, ln, tunedHA[:len(tunedHA)-1]+", watchdog: 1s, watchdog_device: "+dir+"/{name}.wd}")
	l := &haLab{agents: agents, lvs: lvs, net: ln}
	vm := l.haVM(t)
	stop := l.watchNoDoubleRun(t, vm)
	defer stop()

	isolated, hung := -1, -1
	for step := range steps {
		var what string
		switch op := rng.IntN(5); {
		case op == 0 && isolated < 0:
			isolated = rng.IntN(3)
			ln.Partition([]*lab.Host{agents[isolated].host}, others(agents, isolated))
			what = "isolate " + agents[isolated].name
		case op == 1 && hung < 0:
			hung = rng.IntN(3)
			_ = agents[hung].proc.Signal(syscall.SIGSTOP)
			what = "hang " + agents[hung].name + "'s agent"
		case op == 2:
			i := rng.IntN(3)
			what = fmt.Sprintf("kill %s's guests (%d)", agents[i].name, killQEMUs(t, agents[i].host))
		case op == 3:
			a := l.majority(isolated, hung)
			r := a.cli(t, "ha", "switchover", vm, "--timeout", "20s")
			what = fmt.Sprintf("switchover asked of %s: exit %d", a.name, r.code)
		default:
			if isolated >= 0 {
				ln.Heal()
				what = "heal " + agents[isolated].name
				isolated = -1
			} else if hung >= 0 {
				_ = agents[hung].proc.Signal(syscall.SIGCONT)
				what = "thaw " + agents[hung].name
				hung = -1
			} else {
				what = "nothing"
			}
		}
		t.Logf("step %d: %s", step, what)
		l.waitSettled(t, vm, isolated, hung, 20*time.Second)
	}
	if isolated >= 0 {
		ln.Heal()
	}
	if hung >= 0 {
		_ = agents[hung].proc.Signal(syscall.SIGCONT)
	}
	l.waitSettled(t, vm, -1, -1, 20*time.Second)
}

// others are the agents' hosts but the i-th.
func others(agents []*labAgent, i int) []*lab.Host {
	var out []*lab.Host
	for j, a := range agents {
		if j != i {
			out = append(out, a.host)
		}
	}
	return out
}

// majority is an agent on the majority's side, neither isolated nor hung.
func (l *haLab) majority(isolated, hung int) *labAgent {
	for i, a := range l.agents {
		if i != isolated && i != hung {
			return a
		}
	}
	return nil
}

// waitSettled waits until the VM runs on exactly one host, the active of
// the record the majority holds, on the majority's side; or, when no
// majority is left (one host isolated, another hung), on no host at all.
func (l *haLab) waitSettled(t *testing.T, vm string, isolated, hung int, timeout time.Duration) {
	t.Helper()
	a := l.majority(isolated, hung)
	noMajority := isolated >= 0 && hung >= 0 && isolated != hung
	deadline := time.Now().Add(timeout)
	var on []string
	var rec api.HAVM
	for time.Now().Before(deadline) {
		on = l.runsOn(t, vm)
		if noMajority {
			if len(on) == 0 {
				return
			}
		} else {
			for _, v := range haStatusOf(t, a).VMs {
				if v.Name == vm {
					rec = v
				}
			}
			out := (isolated >= 0 && l.agents[isolated].name == rec.Active) || (hung >= 0 && l.agents[hung].name == rec.Active)
			if len(on) == 1 && on[0] == rec.Active && !out {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, a := range l.agents {
		if i != hung {
			r := a.cli(t, "ha", "status")
			t.Logf("%s: ha status:\n%s%s", a.name, r.stdout, r.stderr)
		}
	}
	if noMajority {
		t.Fatalf("no majority left, yet %s runs on %v", vm, on)
	}
	t.Fatalf("%s runs on %v, want on the active %s alone (isolated %d, hung %d)", vm, on, rec.Active, isolated, hung)
}

// TestHASwitchoverOnDegradedHealth makes the active host's health fail (its
// profile now wants more memory than it has, applied with a reload): the
// VM switches over live to the passive, and never stops running.
func TestHASwitchoverOnDegradedHealth(t *testing.T) {
	l := newHALab(t)
	h1 := l.agents[0]
	vm := l.haVM(t)
	stop := l.watchNoDoubleRun(t, vm)
	defer stop()
	// The longest time between two polls that found it running somewhere.
	var gap time.Duration
	done, polled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(polled)
		up := time.Now()
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if len(l.runsOn(t, vm)) > 0 {
				gap, up = max(gap, time.Since(up)), time.Now()
			}
		}
	}()

	cfg, err := os.ReadFile(h1.config)
	if err != nil {
		t.Fatal(err)
	}
	sick := filepath.Join(t.TempDir(), "sick.yaml")
	if err := os.WriteFile(sick, []byte("name: sick\ndescription: more memory than the host has\nmemory: {min: 1000TiB}\nos:\n  supported:\n    - {id: debian, versions: [\"12\", \"13\"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	profile := regexp.MustCompile(`profile: [^,}]+`).ReplaceAllString(string(cfg), "profile: "+sick)
	if err := os.WriteFile(h1.config, []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	h1.ok(t, "reload")
	l.waitRunsOn(t, vm, "h2", 30*time.Second)
	t.Logf("switched over %v after the health failed", time.Since(began))
	waitFor(t, "roles swapped", 10*time.Second, func() bool {
		r := record(t, h1, vm)
		return r.Active == "h2" && r.Passive == "h1"
	})
	close(done)
	<-polled
	// A live migration pauses the guest for tens of milliseconds; a stop
	// and a start elsewhere would take seconds.
	t.Logf("longest time between polls that saw it running: %v", gap)
	if gap > time.Second {
		t.Errorf("%s was seen running nowhere for %v: not a live switchover", vm, gap)
	}
}

// TestHANeedsThreeHosts: with two hosts, enabling HA is refused.
func TestHANeedsThreeHosts(t *testing.T) {
	ln := lab.NewNet(t, 2)
	agents, _ := vmClusterOn(t, ln, tunedHA)
	h1 := agents[0]
	vm := uniqueName("ha2")
	h1.ok(t, "vm", "create", vm, "--memory", "64M", "--host", "h1")
	h1.refused(t, []string{"at least 3 hosts", "h1, h2"}, "ha", "enable", vm, "--passive", "h2")
}

// TestMigrateInterruptedByNetworkCut cuts the link between the source and
// the target in the middle of a live migration (capped at 1 MiB/s so that
// it lasts): the migration fails, and the VM keeps running on the source.
func TestMigrateInterruptedByNetworkCut(t *testing.T) {
	l := newHALab(t)
	h1, h2 := l.agents[0], l.agents[1]
	vm := uniqueName("cut")
	h1.ok(t, "vm", "create", vm, "--memory", "512M", "--host", "h1")
	h1.ok(t, "vm", "start", vm)

	done := make(chan result, 1)
	go func() { done <- h1.cli(t, "vm", "migrate", vm, "--to", "h2", "--bandwidth", "1") }()
	time.Sleep(time.Second)
	l.net.Block(h1.host, h2.host)
	cut := time.Now()
	var r result
	select {
	case r = <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("the migration neither finished nor failed 90 s after the cut")
	}
	t.Logf("migrate returned %v after the cut: exit %d: %s", time.Since(cut), r.code, strings.TrimSpace(r.stderr))
	if r.code == 0 || !strings.Contains(r.stderr, "still on h1") {
		t.Errorf("migrate across a cut link: exit %d, %q: want a failure saying it is still on h1", r.code, r.stderr)
	}
	if on := l.runsOn(t, vm); !slices.Equal(on, []string{"h1"}) {
		t.Errorf("after the cut, %s runs on %v, want h1", vm, on)
	}
	l.net.Heal()
}
