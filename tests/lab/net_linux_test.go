package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
)

// The test binary doubles as the programs the hosts run: with helperEnv set
// to a mode, TestMain runs that helper instead of the tests.
const helperEnv = "VMNLAB_HELPER"

const helperPort = "7000"

// probeTimeout is how long a probe waits for an answer: what a closed path
// costs a test.
const probeTimeout = 250 * time.Millisecond

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func runHelper(mode string, args []string) int {
	switch mode {
	case "serve": // serve NAME: answer NAME on TCP and UDP port 7000
		return serve(args[0])
	case "family": // an idle child in the same process group; print its PID
		self, _ := os.Executable()
		child := exec.Command(self)
		child.Env = append(os.Environ(), helperEnv+"=idle")
		if err := child.Start(); err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Printf("child %d\n", child.Process.Pid)
		idle()
	case "idle":
		idle()
	case "exit": // exit CODE MESSAGE
		fmt.Println(args[1])
		code, _ := strconv.Atoi(args[0])
		return code
	}
	fmt.Fprintf(os.Stderr, "unknown helper %q\n", mode)
	return 2
}

func idle() {
	for {
		time.Sleep(time.Hour)
	}
}

func serve(name string) int {
	ln, err := net.Listen("tcp4", ":"+helperPort)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	pc, err := net.ListenPacket("udp4", ":"+helperPort)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name + "\n"))
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(name), from)
		}
	}()
	fmt.Println("ready")
	idle()
	return 0
}

func outcome(err error) string {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return "timeout"
	}
	return "error: " + err.Error()
}

// helper is a command running the test binary as a helper in h.
func helper(h *Host, mode string, args ...string) *exec.Cmd {
	self, _ := os.Executable()
	cmd := h.Command(context.Background(), self, args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

// serveAll starts the serve helper on each host and waits until they listen.
func serveAll(t *testing.T, hosts ...*Host) []*Proc {
	t.Helper()
	var procs []*Proc
	for _, h := range hosts {
		procs = append(procs, h.StartCmd(t, helper(h, "serve", h.Name)))
	}
	for i, p := range procs {
		waitFor(t, 5*time.Second, hosts[i].Name+" serving", func() bool { return strings.Contains(p.Log(), "ready") })
	}
	return procs
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reach is what a probe from one host to another saw, per protocol:
// "ok NAME" (NAME answered), "timeout" or "error: ...".
type reach struct{ tcp, udp string }

func (r reach) String() string { return "tcp " + r.tcp + ", udp " + r.udp }

func (r reach) answered(name string) bool { return r.tcp == "ok "+name && r.udp == "ok "+name }

func (r reach) silent() bool { return r.tcp == "timeout" && r.udp == "timeout" }

// probe makes one TCP and one UDP exchange from sockets in from with the
// serve helper in to.
func probe(from, to *Host) reach {
	addr := net.JoinHostPort(to.Addr.String(), helperPort)
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	var r reach
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := from.Dial(ctx, "tcp4", addr)
		if err != nil {
			r.tcp = outcome(err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(probeTimeout))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			r.tcp = outcome(err)
			return
		}
		r.tcp = "ok " + strings.TrimSpace(line)
	})
	wg.Go(func() {
		c, err := from.Dial(ctx, "udp4", addr)
		if err != nil {
			r.udp = outcome(err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(probeTimeout))
		if _, err := c.Write([]byte("?")); err != nil {
			r.udp = outcome(err)
			return
		}
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			r.udp = outcome(err)
			return
		}
		r.udp = "ok " + string(buf[:n])
	})
	wg.Wait()
	return r
}

// paths probes every ordered pair of hosts at once.
func paths(hosts []*Host) map[[2]*Host]reach {
	got := map[[2]*Host]reach{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range hosts {
		for _, b := range hosts {
			if a == b {
				continue
			}
			wg.Go(func() {
				r := probe(a, b)
				mu.Lock()
				got[[2]*Host{a, b}] = r
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return got
}

// wantPaths checks that a answers b where open(a, b), and that elsewhere
// nothing gets through: silently (timeouts, as in a real partition) when
// silent is set.
func wantPaths(t *testing.T, hosts []*Host, silent bool, open func(a, b *Host) bool) {
	t.Helper()
	for pair, r := range paths(hosts) {
		a, b := pair[0], pair[1]
		switch {
		case open(a, b):
			if !r.answered(b.Name) {
				t.Errorf("%s → %s: %s; want answers from %s", a.Name, b.Name, r, b.Name)
			}
		case silent:
			if !r.silent() {
				t.Errorf("%s → %s: %s; want timeouts", a.Name, b.Name, r)
			}
		default:
			if strings.HasPrefix(r.tcp, "ok") || strings.HasPrefix(r.udp, "ok") {
				t.Errorf("%s → %s: %s; want no answer", a.Name, b.Name, r)
			}
		}
	}
}

func all(a, b *Host) bool { return true }

func linkNames(t *testing.T, ns string) []string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-o", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip -n %s link: %v", ns, err)
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 1 {
			name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func ipOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestNetReach: the hosts of a Net, and one added later, reach each other
// over TCP and UDP, and nothing else is on their network.
func TestNetReach(t *testing.T) {
	t.Parallel()
	n := NewNet(t, 3)
	hosts := n.Hosts()
	if len(hosts) != 3 {
		t.Fatalf("%d hosts, want 3", len(hosts))
	}
	id, ok := strings.CutSuffix(n.BridgeNS(), "-br")
	if !ok || !regexp.MustCompile(`^vmn-[0-9a-f]{6}$`).MatchString(id) {
		t.Errorf("bridge namespace %q, want vmn-<6 hex>-br", n.BridgeNS())
	}
	if p := n.Prefix(); p.Bits() != 24 || p.Addr().As4()[0] != 10 || p.Addr().As4()[1] != 213 {
		t.Errorf("prefix %s, want 10.213.X.0/24", p)
	}
	for i, h := range hosts {
		if want := fmt.Sprintf("h%d", i+1); h.Name != want || h.NS != id+"-"+want || n.Host(i) != h {
			t.Errorf("host %d: %s in %s, want %s in %s-%s", i, h.Name, h.NS, want, id, want)
		}
		if !n.Prefix().Contains(h.Addr) || h.Addr.As4()[3] != byte(i+1) {
			t.Errorf("%s address %s, want .%d in %s", h.Name, h.Addr, i+1, n.Prefix())
		}
		if got := linkNames(t, h.NS); !slices.Equal(got, []string{"eth0", "lo"}) {
			t.Errorf("%s links %v, want eth0 and lo", h.Name, got)
		}
		if got := ipOut(t, "-n", h.NS, "-o", "link", "show", "dev", "lo"); !strings.Contains(got, "LOWER_UP") {
			t.Errorf("%s lo is not up: %s", h.Name, got)
		}
		if got := ipOut(t, "-n", h.NS, "-4", "route", "show"); got != n.Prefix().String()+" dev eth0 proto kernel scope link src "+h.Addr.String() {
			t.Errorf("%s routes:\n%s\nwant only the lab subnet", h.Name, got)
		}
		if got := ipOut(t, "-n", h.NS, "-6", "addr", "show", "dev", "eth0"); got != "" {
			t.Errorf("%s has IPv6 addresses on eth0:\n%s", h.Name, got)
		}
	}
	if got := linkNames(t, n.BridgeNS()); !slices.Equal(got, []string{"br0", "h1", "h2", "h3", "lo"}) {
		t.Errorf("bridge namespace links %v, want br0, h1-h3, lo", got)
	}

	serveAll(t, hosts...)
	wantPaths(t, hosts, false, all)

	// The test's own sockets: in a host, on its address, which this machine
	// does not have.
	l, err := hosts[0].Listen("tcp4", net.JoinHostPort(hosts[0].Addr.String(), "0"))
	if err != nil {
		t.Fatalf("listen in h1: %v", err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := hosts[1].Dial(t.Context(), "tcp4", l.Addr().String())
	if err != nil {
		t.Fatalf("dial h1 from h2: %v", err)
	}
	got, err := io.ReadAll(c)
	c.Close()
	if string(got) != "hi" || err != nil {
		t.Errorf("from h1's listener: %q, %v", got, err)
	}
	if l, err := net.Listen("tcp4", l.Addr().String()); err == nil {
		l.Close()
		t.Errorf("this machine has the lab address %s", hosts[0].Addr)
	}
	if c, err := hosts[0].Dial(t.Context(), "tcp4", "localhost:1"); err == nil {
		c.Close()
		t.Errorf("Dial resolved a name")
	}

	h4 := n.AddHost(t)
	if h4.Name != "h4" || len(n.Hosts()) != 4 {
		t.Fatalf("added %s, hosts %d", h4.Name, len(n.Hosts()))
	}
	serveAll(t, h4)
	for _, pair := range [][2]*Host{{hosts[0], h4}, {h4, hosts[2]}} {
		if r := probe(pair[0], pair[1]); !r.answered(pair[1].Name) {
			t.Errorf("%s → %s: %s", pair[0].Name, pair[1].Name, r)
		}
	}
}

// TestNetCut: a cut host reaches nobody and nobody reaches it, its
// processes live on, and Restore brings it back.
func TestNetCut(t *testing.T) {
	t.Parallel()
	n := NewNet(t, 3)
	hosts := n.Hosts()
	h1, h3 := hosts[0], hosts[2]
	procs := serveAll(t, hosts...)
	if r := probe(h1, h3); !r.answered("h3") {
		t.Fatalf("before the cut, h1 → h3: %s", r)
	}

	n.Cut(h3)
	wantPaths(t, hosts, false, func(a, b *Host) bool { return a != h3 && b != h3 })
	if !procs[2].Alive() {
		t.Errorf("h3's server died with its link:\n%s", procs[2].Log())
	}

	n.Restore(h3)
	wantPaths(t, hosts, false, all)
}

// TestNetPartition: hosts in different groups hear nothing from each other,
// in both directions, while each group works; Heal reopens everything.
func TestNetPartition(t *testing.T) {
	t.Parallel()
	n := NewNet(t, 3)
	hosts := n.Hosts()
	h1, h2, h3 := hosts[0], hosts[1], hosts[2]
	procs := serveAll(t, hosts...)
	group := func(gs ...[]*Host) func(a, b *Host) bool {
		return func(a, b *Host) bool {
			for _, g := range gs {
				if slices.Contains(g, a) && slices.Contains(g, b) {
					return true
				}
			}
			return false
		}
	}

	n.Partition([]*Host{h1}, []*Host{h2, h3})
	wantPaths(t, hosts, true, group([]*Host{h2, h3}))
	n.Heal()
	wantPaths(t, hosts, true, all)

	// Hosts not listed form one more group, and partitions add up.
	n.Partition([]*Host{h1, h2})
	wantPaths(t, hosts, true, group([]*Host{h1, h2}))
	n.Partition([]*Host{h1}, []*Host{h2, h3})
	wantPaths(t, hosts, true, group())
	n.Heal()

	// Block cuts one path: h1 and h3 still both reach h2.
	n.Block(h1, h3)
	wantPaths(t, hosts, true, func(a, b *Host) bool { return !(a == h1 && b == h3) && !(a == h3 && b == h1) })
	n.Heal()
	wantPaths(t, hosts, true, all)

	for i, h := range hosts {
		if !procs[i].Alive() {
			t.Errorf("%s's server died:\n%s", h.Name, procs[i].Log())
		}
		out, err := h.Command(context.Background(), "nft", "list", "tables").CombinedOutput()
		if err != nil || strings.Contains(string(out), "vmnlab") {
			t.Errorf("%s after Heal: nft list tables: %q, %v", h.Name, out, err)
		}
	}
}

// TestNetProcesses: Start runs the program itself in the host's namespace,
// in its own process group, and Pause, Resume and Kill act on that group.
func TestNetProcesses(t *testing.T) {
	t.Parallel()
	n := NewNet(t, 2)
	h1, h2 := n.Host(0), n.Host(1)
	srv := serveAll(t, h2)[0]
	fam := h2.StartCmd(t, helper(h2, "family"))
	var child int
	waitFor(t, 5*time.Second, "family's child", func() bool {
		_, err := fmt.Sscanf(fam.Log(), "child %d", &child)
		return err == nil
	})

	hostNS := nsInode(t, filepath.Join("/run/netns", h2.NS))
	for _, pid := range []int{srv.Cmd.Process.Pid, fam.Cmd.Process.Pid, child} {
		if got := nsInode(t, fmt.Sprintf("/proc/%d/ns/net", pid)); got != hostNS {
			t.Errorf("pid %d is in network namespace %d, want h2's (%d)", pid, got, hostNS)
		}
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", srv.Cmd.Process.Pid)); strings.TrimSpace(string(comm)) == "ip" {
		t.Errorf("Start's PID is the ip wrapper, not the program")
	}
	if pg := pgid(t, child); pg != fam.Cmd.Process.Pid {
		t.Errorf("child's process group %d, want its parent's %d", pg, fam.Cmd.Process.Pid)
	}

	h2.Pause()
	for _, pid := range []int{srv.Cmd.Process.Pid, fam.Cmd.Process.Pid} {
		if s, err := procState(pid); s != 'T' {
			t.Errorf("pid %d after Pause: state %c, %v; want T", pid, s, err)
		}
	}
	waitFor(t, 2*time.Second, "child stopped", func() bool { s, _ := procState(child); return s == 'T' })
	if r := probe(h1, h2); !r.silent() {
		t.Errorf("paused h2 answered: %s", r)
	}

	h2.Resume()
	for _, pid := range []int{srv.Cmd.Process.Pid, fam.Cmd.Process.Pid} {
		if s, err := procState(pid); s == 'T' || err != nil {
			t.Errorf("pid %d after Resume: state %c, %v", pid, s, err)
		}
	}
	waitFor(t, 2*time.Second, "child running", func() bool { s, _ := procState(child); return s != 'T' })
	if r := probe(h1, h2); !r.answered("h2") {
		t.Errorf("resumed h2: %s", r)
	}

	h2.Pause() // Kill must kill stopped processes too
	h2.Kill()
	for _, p := range []*Proc{srv, fam} {
		if p.Alive() {
			t.Errorf("%v alive after Kill", p.Cmd.Args)
		}
		exited, err := p.Wait(0)
		var ee *exec.ExitError
		if !exited || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("Wait after Kill: %v, %v; want exited, killed", exited, err)
		}
		if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("Signal after Kill: %v, want ErrProcessDone", err)
		}
	}
	// The orphan goes to init, which may take a moment to reap it.
	waitFor(t, 5*time.Second, "child killed", func() bool { s, err := procState(child); return err != nil || s == 'Z' })
	if r := probe(h1, h2); !strings.Contains(r.tcp, "connection refused") {
		t.Errorf("h2 with its server killed: %s; want TCP refused", r)
	}

	srv = serveAll(t, h2)[0]
	if r := probe(h1, h2); !r.answered("h2") {
		t.Errorf("h2 with its server restarted: %s", r)
	}
	if exited, _ := srv.Wait(10 * time.Millisecond); exited || !srv.Alive() {
		t.Errorf("Wait on a live server says it exited")
	}
	if err := srv.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("Signal(0) to a live server: %v", err)
	}

	e := h1.StartCmd(t, helper(h1, "exit", "3", "bye"))
	exited, err := e.Wait(5 * time.Second)
	var ee *exec.ExitError
	if !exited || !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("Wait = %v, %v; want exited with status 3", exited, err)
	}
	if got := e.Log(); got != "bye\n" {
		t.Errorf("Log = %q, want %q", got, "bye\n")
	}
}

// TestNetCleanup: when a test stops midway, its processes, even stopped or
// started behind the Net's back, and its namespaces are gone.
func TestNetCleanup(t *testing.T) {
	t.Parallel()
	var (
		names     []string
		procs     []*Proc
		strayDone = make(chan struct{})
	)
	t.Run("abandoned", func(t *testing.T) {
		n := NewNet(t, 2)
		n.AddHost(t)
		for _, h := range n.Hosts() {
			procs = append(procs, h.StartCmd(t, helper(h, "family")))
		}
		// In a session of its own: only the sweep of the namespace finds it.
		stray := helper(n.Host(2), "idle")
		stray.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
		if err := stray.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { stray.Wait(); close(strayDone) }()
		n.Partition([]*Host{n.Host(0)})
		n.Host(1).Pause()
		names = append(names, n.BridgeNS())
		for _, h := range n.Hosts() {
			names = append(names, h.NS)
		}
		t.SkipNow() // leaves everything running, as a failing test would
	})
	if len(names) != 4 {
		t.Fatalf("namespaces %v", names)
	}
	list := ipOut(t, "netns", "list")
	for _, ns := range names {
		if strings.Contains(list, ns) {
			t.Errorf("namespace %s left in ip netns list:\n%s", ns, list)
		}
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); !os.IsNotExist(err) {
			t.Errorf("/run/netns/%s: %v", ns, err)
		}
	}
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("%v left running", p.Cmd.Args)
		}
	}
	select {
	case <-strayDone:
	case <-time.After(5 * time.Second):
		t.Errorf("process started in a host behind the Net's back left running")
	}
}

func TestParseStatState(t *testing.T) {
	tests := []struct {
		stat string
		want byte
		err  bool
	}{
		{stat: "4242 (lab.test) S 1 4242 4242 0 -1", want: 'S'},
		{stat: "17 (a) b) (c) T 1 17 17", want: 'T'},
		{stat: "9 (sp ace) Z 1", want: 'Z'},
		{stat: "9 (no state)", err: true},
		{stat: "garbage", err: true},
	}
	for _, tt := range tests {
		got, err := parseStatState([]byte(tt.stat))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseStatState(%q) = %q, %v; want %q, error %v", tt.stat, got, err, tt.want, tt.err)
		}
	}
}

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st.Ino
}

// pgid is the process group of pid, from /proc/PID/stat.
func pgid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	g, _ := strconv.Atoi(f[2]) // state ppid pgrp
	return g
}
