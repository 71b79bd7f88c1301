// Package ha benchmarks vmnode's live migration and High Availability on
// three lab hosts, each with its own libvirtd: a live migration by `vmnode
// vm migrate` against `virsh migrate --live --p2p` of an identical guest,
// HA switchovers (command time and the guest's downtime as libvirt shows
// it), and failovers after the active host dies, with the tuned and the
// default HA timers, against Proxmox VE's documented ~120 s. A watcher asks
// every libvirtd throughout whether an HA VM runs on two hosts at once. It
// runs only under `make bench` (VMNODE_BENCH=1) and prints figures and
// ratios; it fails on functional errors only (a double run is one), never on
// timing.
package ha

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/tests/lab"
)

const (
	// tunedHA are runtime/ha.Tuned without a watchdog (the lab has none).
	tunedHA = "ha: {fence_timeout: 1s, skew: 250ms, failover_delay: 2500ms}"

	migrateRuns    = 10 // per direction and per tool
	switchoverRuns = 5
	tunedFailovers = 3

	migrateGoal  = 1.10 // vmnode's migration at most 10% slower than virsh's
	proxmoxHA    = 120 * time.Second
	tunedGoal    = 3 * time.Second
	defaultGoal  = 15 * time.Second
	downtimePoll = 20 * time.Millisecond
	watchPoll    = 100 * time.Millisecond
)

var (
	bin     string // the vmnode binary built for the run
	profile string // tests/e2e/testdata/profiles/vmlab.yaml: lab hosts are healthy
)

func TestMain(m *testing.M) {
	if os.Getenv("VMNODE_BENCH") == "" {
		fmt.Println("skipped: set VMNODE_BENCH=1 (make bench) to run the HA benchmark")
		os.Exit(0)
	}
	profile = filepath.Join(lab.Root(), "tests", "e2e", "testdata", "profiles", "vmlab.yaml")
	var remove func()
	var err error
	if bin, remove, err = lab.BuildVMNode(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	remove()
	os.Exit(code)
}

// results is what the subtests measured, printed at the end.
type results struct {
	vmnode, virsh        []time.Duration // migration, CLI wall time
	migElapsed, migDown  []time.Duration // vmnode's own figures (-o json)
	switchover, downtime []time.Duration
	failovers            []failover
	doubleRuns, polls    int
	seen                 int // polls that saw the HA VM running on one host
	stale                int // vmnode migrations after which vm list still showed the source
	manualJoins          int // restarted agents that had to be joined again
}

type failover struct {
	timers    string // tuned, default
	took      time.Duration
	predicted time.Duration
}

func TestHABench(t *testing.T) {
	var res results
	t.Run("tuned", func(t *testing.T) {
		c := newCluster(t, tunedHA)
		haVM := c.haVM(t, "ha1")
		c.watch(t, &res, haVM)
		migrations(t, c, &res)
		switchovers(t, c, &res, haVM)
		c.failovers(t, &res, "tuned", haVM, tunedFailovers)
	})
	t.Run("default", func(t *testing.T) {
		c := newCluster(t)
		haVM := c.haVM(t, "ha1")
		c.watch(t, &res, haVM)
		c.failovers(t, &res, "default", haVM, 1)
	})
	res.print()
	if res.polls > 0 && res.seen == 0 {
		t.Errorf("the watcher never saw the HA VM running in %d polls: it watches nothing", res.polls)
	}
	if res.doubleRuns > 0 {
		t.Errorf("an HA VM ran on two hosts at once in %d of %d polls", res.doubleRuns, res.polls)
	}
}

// cluster is three lab hosts, each with its own libvirtd and agent.
type cluster struct {
	agents []*agent
}

// agent is a vmnode agent on a lab host, with its own libvirtd and a
// connection of the benchmark's own to it (libvirt's view, not vmnode's).
type agent struct {
	name, config string
	host         *lab.Host
	lv           *lab.Libvirtd
	virt         *libvirt.Libvirt
	proc         *lab.Proc   // the agent running, or the last one
	procs        []*lab.Proc // every agent started, for their logs
}

// newCluster starts three hosts with a libvirtd and an agent each, the
// agents configured with extra lines, and joins them.
func newCluster(t *testing.T, extra ...string) *cluster {
	t.Helper()
	net := lab.NewNet(t, 3)
	key := keygen(t)
	c := &cluster{}
	for i, h := range net.Hosts() {
		lv := h.StartLibvirtd(t)
		// Runs before the daemon's own cleanup: nothing stays defined.
		t.Cleanup(func() { undefineAll(t, lv) })
		a := &agent{name: fmt.Sprintf("h%d", i+1), host: h, lv: lv, virt: dial(t, lv)}
		a.config = writeConfig(t, a, key, extra...)
		a.start(t)
		c.agents = append(c.agents, a)
	}
	for _, a := range c.agents[1:] {
		if _, _, err := a.cli("join", "--skip-provision", "--offline", "--ignore-preflight-errors", "all", c.agents[0].host.Addr.String()); err != nil {
			t.Fatalf("%s join: %v", a.name, err)
		}
	}
	c.waitAlive(t)
	// Runs before the agents stop.
	t.Cleanup(func() { logProblems(t, c) })
	return c
}

func writeConfig(t *testing.T, a *agent, key string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`node: {name: %s}
preflight: {offline: true, profile: %s}
agent: {bind: "%s:7946", data_dir: %s/data, key_file: %s, socket: %s/agent.sock, gossip: fast, health_interval: 2s}
vm: {libvirt_socket: %s, domain_type: qemu, migrate_uri: "qemu+tcp://{address}/system"}
%s`, a.name, profile, a.host.Addr, dir, key, dir, a.lv.Socket, strings.Join(extra, "\n"))
	p := filepath.Join(dir, "vmnode.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// start starts (or restarts, with the same configuration and data) a's
// agent and waits until it is ready: the control socket answers, the local
// checks ran, and libvirt answered.
func (a *agent) start(t *testing.T) {
	t.Helper()
	a.proc = a.host.Start(t, bin, "agent", "--config", a.config)
	a.procs = append(a.procs, a.proc)
	waitFor(t, a.name+" ready", 30*time.Second, func() bool {
		if !a.proc.Alive() {
			t.Fatalf("agent %s exited:\n%s", a.name, a.proc.Log())
		}
		// Exit 1 without quorum, as a restarted agent is until it rejoins.
		out, _, _ := a.cli("status", "-o", "json")
		var st api.Status
		if json.Unmarshal([]byte(out), &st) != nil {
			return false
		}
		return st.Health.Status != "" && strings.Contains(a.proc.Log(), `msg="connected to libvirt"`)
	})
}

// cli runs vmnode against a's agent.
func (a *agent) cli(args ...string) (stdout, stderr string, err error) {
	_, stdout, stderr, err = run(bin, append([]string{"--config", a.config}, args...)...)
	return stdout, stderr, err
}

// ok runs the CLI and fails the test unless it succeeds.
func (a *agent) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, _, err := a.cli(args...)
	if err != nil {
		t.Fatalf("%s: %v\nagent log:\n%s", a.name, err, tail(a.proc.Log(), 20))
	}
	return out
}

func (c *cluster) agent(name string) *agent {
	for _, a := range c.agents {
		if a.name == name {
			return a
		}
	}
	panic("no agent " + name)
}

// waitAlive waits until every agent sees every other alive.
func (c *cluster) waitAlive(t *testing.T) {
	t.Helper()
	for _, a := range c.agents {
		waitFor(t, a.name+" sees every member alive", 30*time.Second, func() bool {
			out, _, err := a.cli("status", "-o", "json")
			var st api.Status
			return err == nil && json.Unmarshal([]byte(out), &st) == nil && st.Alive == len(c.agents)
		})
	}
}

// haVM creates a 64 MiB VM on h1, starts it and makes it highly available
// with h2 as its passive host.
func (c *cluster) haVM(t *testing.T, name string) string {
	t.Helper()
	h1 := c.agents[0]
	create(t, h1, name)
	h1.ok(t, "vm", "start", name)
	h1.ok(t, "ha", "enable", name, "--passive", "h2")
	c.waitRoles(t, name, "h1", "h2")
	return name
}

// create creates a 64 MiB VM on a's host. The first create may come before
// the agent's view of the cluster is complete: retry briefly.
func create(t *testing.T, a *agent, name string) {
	t.Helper()
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, _, err = a.cli("vm", "create", name, "--memory", "64M", "--host", a.name); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

// haStatus asks a for the HA status.
func haStatus(t *testing.T, a *agent) api.HAStatus {
	t.Helper()
	var st api.HAStatus
	if err := json.Unmarshal([]byte(a.ok(t, "ha", "status", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitRoles waits until every live agent says name is active on active,
// passive on passive and runs there only, with every member answering.
func (c *cluster) waitRoles(t *testing.T, name, active, passive string) {
	t.Helper()
	for _, a := range c.agents {
		if !a.proc.Alive() {
			continue
		}
		var last api.HAStatus
		waitFor(t, fmt.Sprintf("%s to see %s active on %s, passive on %s (last: %+v)", a.name, name, active, passive, &last), 30*time.Second, func() bool {
			out, _, err := a.cli("ha", "status", "-o", "json")
			if err != nil || json.Unmarshal([]byte(out), &last) != nil || len(last.Missing) > 0 {
				return false
			}
			for _, v := range last.VMs {
				if v.Name == name {
					return v.Active == active && v.Passive == passive && slices.Equal(v.RunsOn, []string{active})
				}
			}
			return false
		})
	}
}

// migrations times live migrations between h1 and h2 of two identical
// guests: A by `vmnode vm migrate`, B (A's domain without its console and
// vmnode's metadata) by `virsh migrate --live --p2p`, alternating which goes
// first. A virsh migration of A would fail: its VNC console listens on its
// host's lab address, which vmnode moves and virsh does not.
func migrations(t *testing.T, c *cluster, res *results) {
	t.Helper()
	h1, h2 := c.agents[0], c.agents[1]
	const a, b = "mig-vmnode", "mig-virsh"
	create(t, h1, a)
	xml, err := h1.lv.Virsh("dumpxml", "--inactive", a)
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?s)\s*<uuid>.*?</uuid>`),
		regexp.MustCompile(`(?s)\s*<metadata>.*?</metadata>`),
		regexp.MustCompile(`\s*<mac address=[^>]*/>`),
		regexp.MustCompile(`(?s)\s*<graphics [^>]*/>`),
		regexp.MustCompile(`(?s)\s*<graphics .*?</graphics>`),
	} {
		xml = re.ReplaceAllString(xml, "")
	}
	xml = strings.Replace(xml, "<name>"+a+"</name>", "<name>"+b+"</name>", 1)
	file := filepath.Join(t.TempDir(), b+".xml")
	if err := os.WriteFile(file, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"define", file}, {"start", b}} {
		if _, err := h1.lv.Virsh(args...); err != nil {
			t.Fatal(err)
		}
	}
	h1.ok(t, "vm", "start", a)

	// Asked of the VM's host, as `ssh HOST vmnode vm migrate` would be
	// (another member may still list it on its old host: see stale).
	vmnodeTo := func(from, to *agent) {
		d, out, _, err := run(bin, "--config", from.config, "vm", "migrate", a, "--to", to.name, "-o", "json")
		var m api.Migration
		if err != nil || json.Unmarshal([]byte(out), &m) != nil || m.State != api.MigrationDone {
			t.Fatalf("vmnode migrate %s to %s: %v\n%s", a, to.name, err, out)
		}
		res.vmnode, res.migElapsed, res.migDown = append(res.vmnode, d), append(res.migElapsed, m.Elapsed), append(res.migDown, m.Downtime)
		if !runningOn(c, a, to) {
			t.Fatalf("after vmnode migrate, libvirt does not show %s running on %s alone", a, to.name)
		}
		if hosts := c.listedOn(t, a, to.name); !slices.Equal(hosts, []string{to.name}) {
			res.stale++
			t.Errorf("%s migrated from %s to %s, but vm list shows it on %v 2 s later: %s's agent still lists it (libvirt has undefined it there)", a, from.name, to.name, hosts, from.name)
		}
	}
	virshTo := func(from, to *agent) {
		d, _, _, err := run("virsh", "-q", "-c", from.lv.LocalURI, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", b, to.lv.URI)
		if err != nil {
			t.Fatal(err)
		}
		res.virsh = append(res.virsh, d)
		if !runningOn(c, b, to) {
			t.Fatalf("after virsh migrate, libvirt does not show %s running on %s alone", b, to.name)
		}
	}
	for i := range migrateRuns {
		for _, dir := range [][2]*agent{{h1, h2}, {h2, h1}} {
			if i%2 == 0 {
				vmnodeTo(dir[0], dir[1])
				virshTo(dir[0], dir[1])
			} else {
				virshTo(dir[0], dir[1])
				vmnodeTo(dir[0], dir[1])
			}
		}
	}
	// Out of the way of the failovers, which kill every QEMU of a host.
	h1.ok(t, "vm", "delete", "--force", a)
	for _, args := range [][]string{{"destroy", b}, {"undefine", b}} {
		if _, err := h1.lv.Virsh(args...); err != nil {
			t.Fatal(err)
		}
	}
}

// listedOn waits up to 2 s until `vm list` from h3 shows name on want only,
// and returns the hosts it shows it on.
func (c *cluster) listedOn(t *testing.T, name, want string) []string {
	t.Helper()
	var hosts []string
	deadline := time.Now().Add(2 * time.Second)
	for {
		var vms []api.VM
		if err := json.Unmarshal([]byte(c.agents[2].ok(t, "vm", "list", "-o", "json")), &vms); err != nil {
			t.Fatal(err)
		}
		hosts = hosts[:0]
		for _, v := range vms {
			if v.Name == name {
				hosts = append(hosts, v.Host)
			}
		}
		if slices.Equal(hosts, []string{want}) || time.Now().After(deadline) {
			return hosts
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// switchovers switches the HA VM over switchoverRuns times (the roles swap
// each time), timing the command and, from the two libvirtds, the longest
// moment neither runs the guest.
func switchovers(t *testing.T, c *cluster, res *results, name string) {
	t.Helper()
	active, passive := c.agent("h1"), c.agent("h2")
	for range switchoverRuns {
		var d time.Duration
		down := observeDowntime(name, []*agent{active, passive}, func() {
			var err error
			d, _, _, err = run(bin, "--config", c.agents[2].config, "ha", "switchover", name)
			if err != nil {
				t.Fatal(err)
			}
		})
		res.switchover, res.downtime = append(res.switchover, d), append(res.downtime, down)
		if !runningOn(c, name, passive) {
			t.Fatalf("after the switchover, libvirt does not show %s running on %s alone", name, passive.name)
		}
		active, passive = passive, active
		c.waitRoles(t, name, active.name, passive.name)
	}
}

// observeDowntime runs fn while asking the hosts' libvirtds every
// downtimePoll whether they run name, and returns the longest span from a
// poll that saw it running to the next that did, around polls that did not
// (0 if every poll saw it running): the downtime, to within a poll.
func observeDowntime(name string, hosts []*agent, fn func()) time.Duration {
	done := make(chan struct{})
	result := make(chan time.Duration, 1)
	go func() {
		var longest time.Duration
		lastUp, gap := time.Now(), false
		finished := false
		var deadline time.Time
		for {
			now := time.Now()
			up := false
			for _, h := range hosts {
				up = up || running(h.virt, name)
			}
			switch {
			case up && gap:
				longest, gap = max(longest, now.Sub(lastUp)), false
				lastUp = now
			case up:
				lastUp = now
			default:
				gap = true
			}
			if !finished {
				select {
				case <-done:
					finished, deadline = true, time.Now().Add(5*time.Second)
				default:
				}
			}
			// After fn, until the guest is seen up again (bounded).
			if finished && (!gap || time.Now().After(deadline)) {
				result <- longest
				return
			}
			time.Sleep(time.Until(now.Add(downtimePoll)))
		}
	}()
	func() {
		defer close(done) // also when fn fails the test
		fn()
	}()
	return <-result
}

// failovers kills the HA VM's active host (its agent and QEMUs) n times and
// times until the passive's libvirtd runs the VM; the killed agent then
// restarts with its configuration and becomes the passive.
func (c *cluster) failovers(t *testing.T, res *results, timers, name string, n int) {
	t.Helper()
	for range n {
		st := haStatus(t, c.agents[2])
		i := slices.IndexFunc(st.VMs, func(v api.HAVM) bool { return v.Name == name })
		if i < 0 {
			t.Fatalf("ha status does not list %s: %+v", name, st.VMs)
		}
		active, passive := c.agent(st.VMs[i].Active), c.agent(st.VMs[i].Passive)

		killed := time.Now()
		if err := active.proc.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if killQEMUs(t, active.host) == 0 {
			t.Fatalf("no QEMU to kill on %s", active.name)
		}
		deadline := killed.Add(60 * time.Second)
		for !running(passive.virt, name) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not running on %s 60 s after %s died\n%s's log:\n%s", name, passive.name, active.name, passive.name, tail(passive.proc.Log(), 30))
			}
			time.Sleep(downtimePoll)
		}
		took := time.Since(killed)
		res.failovers = append(res.failovers, failover{timers: timers, took: took, predicted: st.Predicted})
		t.Logf("%s failover %s -> %s: %v (predicted %v)", timers, active.name, passive.name, took, st.Predicted)

		if exited, _ := active.proc.Wait(10 * time.Second); !exited {
			t.Fatalf("the agent of %s survived SIGKILL", active.name)
		}
		active.start(t)
		c.rejoin(t, res, active, passive)
		c.waitRoles(t, name, passive.name, active.name)
	}
}

// rejoin waits until the restarted agent a has rejoined the cluster by
// itself (Serf's snapshot), and if it has not within 10 s, says so and joins
// it to peer as an operator would.
func (c *cluster) rejoin(t *testing.T, res *results, a, peer *agent) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st api.Status
		out, _, _ := a.cli("status", "-o", "json")
		if json.Unmarshal([]byte(out), &st) == nil && st.Alive == len(c.agents) {
			break
		}
		if time.Now().After(deadline) {
			res.manualJoins++
			t.Errorf("the restarted agent %s did not rejoin the cluster by itself within 10 s (it sees %d of %d members alive, quorum %v); joining it to %s",
				a.name, st.Alive, st.Members, st.Quorum.Has, peer.name)
			a.ok(t, "join", "--skip-provision", "--offline", "--ignore-preflight-errors", "all", peer.host.Addr.String())
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.waitAlive(t)
}

// killQEMUs kills every QEMU in the lab host's namespace (a host dying
// takes its guests with it).
func killQEMUs(t *testing.T, h *lab.Host) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", h.NS).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", h.NS, err)
	}
	n := 0
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.HasPrefix(string(comm), "qemu-system") && syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// watch asks every libvirtd every watchPoll whether it runs name, counting
// the polls and those where two hosts run it at once, until the test ends.
func (c *cluster) watch(t *testing.T, res *results, name string) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			var on []string
			for _, a := range c.agents {
				if running(a.virt, name) {
					on = append(on, a.name)
				}
			}
			res.polls++
			if len(on) == 1 {
				res.seen++
			}
			if len(on) > 1 {
				res.doubleRuns++
				t.Logf("%s runs on %v at once", name, on)
			}
			select {
			case <-done:
				return
			case <-time.After(watchPoll):
			}
		}
	})
	// Registered after the libvirt connections: stops before they close.
	t.Cleanup(func() { close(done); wg.Wait() })
}

// dial connects to lv through its socket, until the test ends.
func dial(t *testing.T, lv *lab.Libvirtd) *libvirt.Libvirt {
	t.Helper()
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(lv.Socket), dialers.WithLocalTimeout(5*time.Second)))
	if err := l.ConnectToURI(libvirt.QEMUSystem); err != nil {
		t.Fatalf("connect to %s's libvirtd: %v", lv.Host.Name, err)
	}
	t.Cleanup(func() { _ = l.Disconnect() })
	return l
}

// running says whether l runs the domain name (a paused one does not run:
// a live migration's target waits paused, and its source pauses before the
// target resumes).
func running(l *libvirt.Libvirt, name string) bool {
	d, err := l.DomainLookupByName(name)
	if err != nil {
		return false
	}
	st, _, err := l.DomainGetState(d, 0)
	return err == nil && libvirt.DomainState(st) == libvirt.DomainRunning
}

// runningOn says whether name runs on a's host and no other.
func runningOn(c *cluster, name string, a *agent) bool {
	for _, b := range c.agents {
		if running(b.virt, name) != (b == a) {
			return false
		}
	}
	return true
}

// run runs a command and times it.
func run(name string, args ...string) (d time.Duration, stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	d = time.Since(start)
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return d, out.String(), errb.String(), err
}

func keygen(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(bin, "keygen").Output()
	if err != nil {
		t.Fatalf("keygen: %v", err)
	}
	p := filepath.Join(t.TempDir(), "gossip.key")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// undefineAll destroys and undefines whatever is left on lv.
func undefineAll(t *testing.T, lv *lab.Libvirtd) {
	out, err := lv.Virsh("list", "--all", "--name")
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, name := range strings.Fields(out) {
		_, _ = lv.Virsh("destroy", name) // fails on shut-off domains
		if _, err := lv.Virsh("undefine", name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// logProblems logs the warnings and errors the agents logged (a benchmark
// that passes may still have had to retry), or all they logged if the test
// failed.
func logProblems(t *testing.T, c *cluster) {
	t.Helper()
	for _, a := range c.agents {
		for i, p := range a.procs {
			for _, l := range strings.Split(p.Log(), "\n") {
				if l != "" && (t.Failed() || strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR")) {
					t.Logf("%s#%d: %s", a.name, i+1, l)
				}
			}
		}
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *results) print() {
	fmt.Printf("\n== HA benchmark: 3 lab hosts, each with its own libvirtd; TCG guests, 64 MiB, 1 vCPU, diskless; %d CPUs\n", runtime.NumCPU())
	fmt.Printf("%-46s %10s %10s\n", "", "median", "p90")
	row := func(label string, ds []time.Duration) {
		if len(ds) > 0 {
			fmt.Printf("%-46s %10s %10s\n", label, ms(median(ds)), ms(p90(ds)))
		}
	}
	fmt.Printf("live migration h1<->h2, %d runs each way, alternating (wall time of the command):\n", migrateRuns)
	row("  vmnode vm migrate --to", r.vmnode)
	row("  virsh migrate --live --p2p", r.virsh)
	row("  vmnode's own figure: elapsed", r.migElapsed)
	row("  vmnode's own figure: downtime", r.migDown)
	if len(r.vmnode) > 0 && len(r.virsh) > 0 {
		f := float64(median(r.vmnode)) / float64(median(r.virsh))
		fmt.Printf("  ratio vmnode/virsh: %.2fx median, %.2fx p90 (goal < %.2fx: %s)\n", f,
			float64(p90(r.vmnode))/float64(p90(r.virsh)), migrateGoal, verdict(f < migrateGoal))
	}
	if r.stale > 0 {
		fmt.Printf("  after %d of %d vmnode migrations, vm list still showed the VM on its old host too (stale source view)\n", r.stale, len(r.vmnode))
	}
	fmt.Printf("ha switchover, %d runs, alternating h1<->h2:\n", switchoverRuns)
	row("  vmnode ha switchover (wall time)", r.switchover)
	row("  observed downtime (20 ms polling)", r.downtime)
	if len(r.downtime) > 0 {
		fmt.Println("  (downtime: from the last poll of both libvirtds that saw the guest running to the next that did; at most one poll too long)")
	}
	if len(r.failovers) > 0 {
		fmt.Println("failover: the active host's agent and QEMUs SIGKILLed, until the passive's libvirtd runs the VM:")
		fmt.Printf("  %-8s %10s %10s %14s %18s\n", "timers", "recovery", "predicted", "vs Proxmox 120s", "goal")
		for _, f := range r.failovers {
			goal := tunedGoal
			if f.timers == "default" {
				goal = defaultGoal
			}
			fmt.Printf("  %-8s %9.2fs %9.2fs %14s %18s\n", f.timers, f.took.Seconds(), f.predicted.Seconds(),
				fmt.Sprintf("%.3fx", float64(f.took)/float64(proxmoxHA)), fmt.Sprintf("< %s: %s", goal, verdict(f.took < goal)))
		}
	}
	if r.manualJoins > 0 {
		fmt.Printf("  %d restarted agent(s) did not rejoin by themselves within 10 s: joined with vmnode join\n", r.manualJoins)
	}
	fmt.Printf("double runs: %d (each HA VM asked of the 3 libvirtds every %s, %d polls)\n", r.doubleRuns, watchPoll, r.polls)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// p90 is the nearest-rank 90th percentile.
func p90(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	if len(s) == 0 {
		return 0
	}
	return s[int(math.Ceil(0.9*float64(len(s))))-1]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
