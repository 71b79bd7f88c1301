// Package cluster benchmarks the agent's gossip in the lab: convergence
// (how long a join takes to reach every member), failure detection (a
// crashed agent, and a dead host that answers nothing), and an idle agent's
// memory and CPU. It runs only under `make bench` (VMNODE_BENCH=1) and
// prints figures; it never fails on timing.
package cluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/tests/lab"
)

// Published figures the results are compared with.
const (
	serfConvergence  = 1600 * time.Millisecond // serf.io: ~1.6 s to 99.99% of a cluster, default config
	proxmoxDetection = 120 * time.Second       // Proxmox VE HA: ~2 min to fence and recover
)

var bin string

func TestMain(m *testing.M) {
	if os.Getenv("VMNODE_BENCH") == "" {
		fmt.Println("skipped: set VMNODE_BENCH=1 (make bench) to run the cluster benchmark")
		os.Exit(0)
	}
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

type agent struct {
	name, dir, config string
	host              *lab.Host
	proc              *lab.Proc
}

func start(t *testing.T, h *lab.Host, name, key, gossip string, join []string) *agent {
	dir := t.TempDir()
	a := &agent{name: name, dir: dir, host: h, config: filepath.Join(dir, "vmnode.yaml")}
	joins, _ := json.Marshal(join)
	cfg := fmt.Sprintf("node: {name: %s}\npreflight: {offline: true}\nagent:\n  bind: %s:7946\n  data_dir: %s/data\n  key_file: %s\n  socket: %s/agent.sock\n  gossip: %s\n  join: %s\n  health_interval: 1h\ncluster: {max_hosts: 64}\n",
		name, h.Addr, dir, key, dir, gossip, joins)
	if err := os.WriteFile(a.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a.proc = h.Start(t, bin, "agent", "--config", a.config)
	return a
}

func (a *agent) status(t *testing.T) (api.Status, bool) {
	out, err := exec.Command(bin, "--config", a.config, "status", "-o", "json").Output()
	var st api.Status
	if len(out) == 0 || json.Unmarshal(out, &st) != nil {
		_ = err
		return st, false
	}
	return st, true
}

// logged returns when a's log first said `msg="member <event>" ... node=<node>`.
func (a *agent) logged(event, node string) (time.Time, bool) {
	f, err := os.Open(a.proc.LogPath())
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	want := fmt.Sprintf(`msg="member %s" component=cluster node=%s `, event, node)
	for sc.Scan() {
		l := sc.Text()
		if !strings.Contains(l, want) {
			continue
		}
		ts, _, _ := strings.Cut(strings.TrimPrefix(l, "time="), " ")
		if tm, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			return tm, true
		}
	}
	return time.Time{}, false
}

// spread waits until every agent logged event for node and returns the
// time from t0 to the first and to the last of them.
func spread(t *testing.T, agents []*agent, event, node string, t0 time.Time, within time.Duration) (first, last time.Duration, ok bool) {
	deadline := time.Now().Add(within)
	for {
		var ds []time.Duration
		for _, a := range agents {
			if tm, ok := a.logged(event, node); ok {
				ds = append(ds, tm.Sub(t0))
			}
		}
		if len(ds) == len(agents) {
			return slices.Min(ds), slices.Max(ds), true
		}
		if time.Now().After(deadline) {
			t.Logf("only %d of %d agents saw %s %s within %s", len(ds), len(agents), node, event, within)
			return 0, 0, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func TestClusterBench(t *testing.T) {
	key := filepath.Join(t.TempDir(), "gossip.key")
	out, err := exec.Command(bin, "keygen").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(key, out, 0o600)

	fmt.Printf("\n== vmnode agent gossip (lab: network namespaces on one bridge, %d CPUs)\n", runtime.NumCPU())
	fmt.Printf("%-5s %-6s %12s %12s %14s %14s %14s\n", "hosts", "gossip", "converge", "vs serf 1.6s", "detect crash", "detect death", "vs proxmox 2m")
	for _, n := range benchSizes() {
		for _, gossip := range []string{"lan", "fast"} {
			t.Run(fmt.Sprintf("%d-%s", n, gossip), func(t *testing.T) { row(t, n, gossip, key) })
		}
	}
	t.Run("idle", func(t *testing.T) { idle(t, key) })
}

// row builds an n-host cluster, then measures one more host's join reaching
// everyone, its crash (the kernel still answers: refused), and the death
// of another host (killed and cut off: silence).
func row(t *testing.T, n int, gossip, key string) {
	net := lab.NewNet(t, n+1)
	var agents []*agent
	seed := []string{net.Host(0).Addr.String()}
	for i := 0; i < n; i++ {
		var join []string
		if i > 0 {
			join = seed
		}
		agents = append(agents, start(t, net.Host(i), fmt.Sprintf("h%d", i+1), key, gossip, join))
		// Staggered, as hosts join in life: 50 agents starting in the same
		// instant on 2 CPUs starve each other's failure detectors.
		time.Sleep(100 * time.Millisecond)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if st, ok := agents[0].status(t); ok && st.Alive == n {
			break
		}
		if time.Now().After(deadline) {
			st, _ := agents[0].status(t)
			fmt.Printf("%-5d %-6s did not converge: h1 saw %d of %d alive after 60 s (false failures under this machine's load)\n", n, gossip, st.Alive, n)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // settle

	t0 := time.Now()
	newcomer := start(t, net.Host(n), "new", key, gossip, seed)
	_, conv, ok := spread(t, agents, "join", "new", t0, 30*time.Second)
	// The newcomer's start (process, socket, Serf) is part of t0..join;
	// measure from its own join log line instead.
	if tj, okj := newcomer.logged("join", "h1"); okj && ok {
		_, conv, _ = spread(t, agents, "join", "new", tj, time.Second)
	}
	time.Sleep(time.Second)

	t1 := time.Now()
	newcomer.host.Kill()
	_, crash, okc := spread(t, agents, "failed", "new", t1, 60*time.Second)

	victim := agents[n-1]
	others := agents[:n-1]
	t2 := time.Now()
	net.Cut(victim.host)
	victim.host.Kill()
	_, death, okd := spread(t, others, "failed", victim.name, t2, 60*time.Second)

	fmt.Printf("%-5d %-6s %12s %12s %14s %14s %14s\n", n, gossip,
		orNA(ms(conv), ok), orNA(fmt.Sprintf("%.2fx", float64(conv)/float64(serfConvergence)), ok),
		orNA(ms(crash), okc), orNA(ms(death), okd), orNA(fmt.Sprintf("%.3fx", float64(death)/float64(proxmoxDetection)), okd))
}

func orNA(s string, ok bool) string {
	if !ok {
		return "n/a"
	}
	return s
}

// idle measures a converged 3-host cluster's agents doing nothing for 10 s.
func idle(t *testing.T, key string) {
	net := lab.NewNet(t, 3)
	seed := []string{net.Host(0).Addr.String()}
	var agents []*agent
	for i := 0; i < 3; i++ {
		var join []string
		if i > 0 {
			join = seed
		}
		agents = append(agents, start(t, net.Host(i), fmt.Sprintf("h%d", i+1), key, "lan", join))
	}
	time.Sleep(3 * time.Second)
	hz := 100.0 // USER_HZ on Linux
	before := make([]float64, len(agents))
	for i, a := range agents {
		before[i] = cpuTicks(a.proc.Cmd.Process.Pid)
	}
	const window = 10 * time.Second
	time.Sleep(window)
	for i, a := range agents {
		pid := a.proc.Cmd.Process.Pid
		cpu := (cpuTicks(pid) - before[i]) / hz / window.Seconds() * 100
		rss := rssKiB(pid)
		fmt.Printf("idle %s: RSS %.1f MiB (target < 30 MiB: %.2fx), CPU %.2f%% of a core (target < 1%%: %.2fx)\n",
			a.name, rss/1024, rss/1024/30, cpu, cpu/1)
	}
}

func cpuTicks(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return u + k
}

func rssKiB(pid int) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return v
		}
	}
	return 0
}

// benchSizes are the cluster sizes; VMNODE_BENCH_SIZES="3 7" narrows them.
func benchSizes() []int {
	sizes := []int{3, 7, 50}
	if s := os.Getenv("VMNODE_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Fields(s) {
			if n, err := strconv.Atoi(f); err == nil {
				sizes = append(sizes, n)
			}
		}
	}
	return sizes
}
