package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// filterTable is the nftables table Partition installs in a host's namespace.
const filterTable = "vmnlab"

// stopTimeout bounds how long a killed process may take to exit.
const stopTimeout = 10 * time.Second

// Net is a private network of hosts: one network namespace per host, linked to a
// bridge that itself lives in its own namespace. Everything is removed at t.Cleanup.
//
// Each Net draws a random id and a random /24 in 10.213.0.0/16: its namespaces
// are vmn-<id>-br (the bridge br0, one port per host, named like the host) and
// vmn-<id>-h1, vmn-<id>-h2, … (lo and eth0 with the host's address). There is
// no default route and nothing is bridged to this machine, so packets only
// ever travel between the Net's namespaces. IPv6 addresses are not generated
// on the links (addrgenmode none): the lab speaks IPv4 only, besides ::1.
//
// Cut, Restore, Partition, Block and Heal report failures with Errorf on the
// test that made the Net.
type Net struct {
	t      testing.TB
	id     string
	prefix netip.Prefix
	bridge string // namespace of the bridge

	mu         sync.Mutex
	hosts      []*Host
	namespaces []string          // every namespace created, bridge first
	blocked    map[hostPair]bool // pairs that may not exchange packets
}

type hostPair struct{ a, b *Host }

func pairOf(a, b *Host) hostPair {
	if a.index > b.index {
		a, b = b, a
	}
	return hostPair{a, b}
}

// Host is one machine of a Net: a network namespace with one link (eth0) to
// the Net's bridge.
type Host struct {
	Name string     // "h1", "h2", ...
	NS   string     // the network namespace name under /run/netns
	Addr netip.Addr // its address on the bridge

	net      *Net
	index    int
	filtered bool // its namespace holds the Partition table

	mu    sync.Mutex
	procs []*Proc
}

// NewNet makes a Net of n hosts, h1 to hN. It skips the test unless it runs
// as root with ip (iproute2) and nft (nftables) installed.
func NewNet(t testing.TB, n int) *Net {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab: network namespaces need root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("lab: %s not found; run tests/install-deps.sh (packages iproute2 nftables)", tool)
		}
	}
	if n < 0 || n > 254 {
		t.Fatalf("lab: NewNet(%d): a Net has 0 to 254 hosts", n)
	}
	growNeighborTable(t, n)
	var rnd [4]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:3])
	nt := &Net{
		t:       t,
		id:      id,
		prefix:  netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, rnd[3], 0}), 24),
		bridge:  "vmn-" + id + "-br",
		blocked: map[hostPair]bool{},
	}
	t.Cleanup(nt.cleanup)
	start := time.Now()
	nt.mu.Lock()
	err := nt.addNamespace(nt.bridge)
	if err == nil {
		err = runAll(
			[]string{"-n", nt.bridge, "link", "set", "dev", "lo", "up"},
			[]string{"-n", nt.bridge, "link", "add", "br0", "type", "bridge"},
			[]string{"-n", nt.bridge, "link", "set", "dev", "br0", "addrgenmode", "none"},
			[]string{"-n", nt.bridge, "link", "set", "dev", "br0", "up"},
		)
	}
	nt.mu.Unlock()
	if err != nil {
		t.Fatalf("lab: bridge: %v", err)
	}
	for range n {
		nt.AddHost(t)
	}
	t.Logf("lab: net %s (%s, %d hosts) up in %s", id, nt.prefix, n, time.Since(start).Round(time.Millisecond))
	return nt
}

// growNeighborTable makes room in the kernel's ARP table, which all network
// namespaces share: n hosts that all talk to each other hold n² entries, and
// past gc_thresh3 (1024 by default) the kernel drops packets ("neighbor table
// overflow"), which gossip reads as failed hosts. The limits only ever grow.
func growNeighborTable(t testing.TB, n int) {
	t.Helper()
	for i, want := range []int{n * n, 2 * n * n, 4 * n * n} {
		p := fmt.Sprintf("/proc/sys/net/ipv4/neigh/default/gc_thresh%d", i+1)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Logf("lab: %v", err)
			return
		}
		if cur, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && cur >= want {
			continue
		}
		if err := os.WriteFile(p, []byte(strconv.Itoa(want)), 0o644); err != nil {
			t.Logf("lab: raise %s: %v", p, err)
		}
	}
}

// Prefix is the Net's subnet; host hN has its Nth address.
func (n *Net) Prefix() netip.Prefix { return n.prefix }

// BridgeNS is the name of the namespace holding the bridge.
func (n *Net) BridgeNS() string { return n.bridge }

// Hosts returns the hosts in order (h1 first).
func (n *Net) Hosts() []*Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.hosts)
}

// Host returns host i, 0-based: Host(0) is h1.
func (n *Net) Host(i int) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[i]
}

// AddHost adds one more host on the same bridge; it is not part of any
// Partition made before.
func (n *Net) AddHost(t testing.TB) *Host {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	i := len(n.hosts)
	if i >= 254 {
		t.Fatalf("lab: net %s is full (254 hosts)", n.id)
	}
	a := n.prefix.Addr().As4()
	a[3] = byte(i + 1)
	name := "h" + strconv.Itoa(i+1)
	h := &Host{Name: name, NS: "vmn-" + n.id + "-" + name, Addr: netip.AddrFrom4(a), net: n, index: i}
	if err := n.addNamespace(h.NS); err != nil {
		t.Fatalf("lab: add host %s: %v", name, err)
	}
	// The veth pair is made in the bridge's namespace with its peer placed
	// straight into the host's: no link ever appears on this machine.
	err := runAll(
		[]string{"-n", h.NS, "link", "set", "dev", "lo", "up"},
		[]string{"-n", n.bridge, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", h.NS},
		[]string{"-n", n.bridge, "link", "set", "dev", name, "addrgenmode", "none"},
		[]string{"-n", n.bridge, "link", "set", "dev", name, "master", "br0", "up"},
		// Separately and before "up": no IPv6 link-local address, so no
		// IPv6 traffic that a Partition would not stop.
		[]string{"-n", h.NS, "link", "set", "dev", "eth0", "addrgenmode", "none"},
		[]string{"-n", h.NS, "addr", "add", netip.PrefixFrom(h.Addr, n.prefix.Bits()).String(), "dev", "eth0"},
		[]string{"-n", h.NS, "link", "set", "dev", "eth0", "up"},
	)
	if err != nil {
		t.Fatalf("lab: add host %s: %v", name, err)
	}
	n.hosts = append(n.hosts, h)
	return h
}

// addNamespace creates a namespace; ip refuses a name that exists, so a Net
// never adopts another's namespace. Called with n.mu held.
func (n *Net) addNamespace(name string) error {
	if err := ipRun("netns", "add", name); err != nil {
		return err
	}
	n.namespaces = append(n.namespaces, name)
	return nil
}

// Cut takes h's link down (its port on the bridge): h loses every peer
// until Restore. Its processes keep running.
func (n *Net) Cut(h *Host) {
	n.t.Helper()
	if !n.owns(h) {
		return
	}
	if err := ipRun("-n", n.bridge, "link", "set", "dev", h.Name, "down"); err != nil {
		n.t.Errorf("lab: cut %s: %v", h.Name, err)
	}
}

// Restore brings h's link up again after Cut, and returns once the bridge
// forwards its frames and h's eth0 is up. It also drops the neighbour (ARP)
// lookups that failed while h was cut, on h and on its peers, so that
// traffic resumes at once instead of at their next retry (up to a second).
func (n *Net) Restore(h *Host) {
	n.t.Helper()
	if !n.owns(h) {
		return
	}
	if err := ipRun("-n", n.bridge, "link", "set", "dev", h.Name, "up"); err != nil {
		n.t.Errorf("lab: restore %s: %v", h.Name, err)
		return
	}
	// Carrier changes reach the bridge and the other end asynchronously.
	deadline := time.Now().Add(5 * time.Second)
	for {
		port, _ := exec.Command("ip", "-n", n.bridge, "-d", "-o", "link", "show", "dev", h.Name).CombinedOutput()
		eth0, _ := exec.Command("ip", "-n", h.NS, "-o", "link", "show", "dev", "eth0").CombinedOutput()
		if bytes.Contains(port, []byte("state forwarding")) && bytes.Contains(port, []byte("LOWER_UP")) &&
			bytes.Contains(eth0, []byte(" state UP ")) {
			break
		}
		if time.Now().After(deadline) {
			n.t.Errorf("lab: restore %s: link not up after 5s:\n%s\n%s", h.Name, bytes.TrimSpace(port), bytes.TrimSpace(eth0))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	unresolved := []string{"nud", "incomplete", "nud", "failed"}
	flush := [][]string{append([]string{"-n", h.NS, "neigh", "flush", "dev", "eth0"}, unresolved...)}
	for _, o := range n.Hosts() {
		if o != h {
			flush = append(flush, append([]string{"-n", o.NS, "neigh", "flush", "to", h.Addr.String()}, unresolved...))
		}
	}
	if err := runAll(flush...); err != nil {
		n.t.Errorf("lab: restore %s: %v", h.Name, err)
	}
}

// Partition splits the network: hosts in different groups cannot exchange
// packets, in either direction (TCP, UDP, ICMP: all of IPv4); the hosts not
// listed form one more group. Partitions add up: a later Partition or Block
// cuts more paths and never reopens one. Heal removes them all. Processes are
// left alone and established connections resume after Heal.
//
// Each host's namespace gets a table inet vmnlab whose input chain drops
// packets from the hosts it is cut from, replaced atomically on each change.
// Every cut pair is cut at both ends, so dropping on input alone blocks both
// directions, and senders see the silence of a real partition: a drop on
// output would fail their UDP sends with EPERM instead.
func (n *Net) Partition(groups ...[]*Host) {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	group := map[*Host]int{}
	for gi, g := range groups {
		for _, h := range g {
			if h == nil || h.net != n {
				n.t.Errorf("lab: partition: host %v is not on net %s", h, n.id)
				return
			}
			if prev, ok := group[h]; ok && prev != gi {
				n.t.Errorf("lab: partition: %s is in groups %d and %d", h.Name, prev, gi)
				return
			}
			group[h] = gi
		}
	}
	var cut []hostPair
	for i, a := range n.hosts {
		for _, b := range n.hosts[i+1:] {
			ga, oka := group[a]
			gb, okb := group[b]
			if !oka {
				ga = len(groups)
			}
			if !okb {
				gb = len(groups)
			}
			if ga != gb {
				cut = append(cut, hostPair{a, b})
			}
		}
	}
	n.block(cut)
}

// Block cuts the path between a and b only (both directions), as one more
// Partition would between two hosts without touching the others: a and b can
// still talk through a third host.
func (n *Net) Block(a, b *Host) {
	n.t.Helper()
	if !n.owns(a) || !n.owns(b) {
		return
	}
	if a == b {
		n.t.Errorf("lab: block: %s and itself", a.Name)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.block([]hostPair{pairOf(a, b)})
}

// block adds pairs and rewrites the tables of the hosts they touch. Called
// with n.mu held.
func (n *Net) block(pairs []hostPair) {
	n.t.Helper()
	var touched []*Host
	for _, p := range pairs {
		if n.blocked[p] {
			continue
		}
		n.blocked[p] = true
		touched = append(touched, p.a, p.b)
	}
	for _, h := range n.hosts {
		if slices.Contains(touched, h) {
			if err := n.writeFilter(h); err != nil {
				n.t.Errorf("lab: partition: %v", err)
			}
		}
	}
}

// Heal undoes every Partition and Block (not Cut): the tables go.
func (n *Net) Heal() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.blocked)
	for _, h := range n.hosts {
		if h.filtered {
			if err := n.writeFilter(h); err != nil {
				n.t.Errorf("lab: heal: %v", err)
			}
		}
	}
}

// writeFilter makes h's table say what n.blocked says about h: dropped
// sources, or no table at all. Called with n.mu held.
func (n *Net) writeFilter(h *Host) error {
	var from []string
	for _, o := range n.hosts {
		if o != h && n.blocked[pairOf(h, o)] {
			from = append(from, o.Addr.String())
		}
	}
	var script string
	switch {
	case len(from) > 0:
		// Adding then deleting first makes the batch work whether or not
		// the table exists, and the whole batch is one transaction.
		script = fmt.Sprintf(`table inet %[1]s {}
delete table inet %[1]s
table inet %[1]s {
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr { %[2]s } drop
	}
}
`, filterTable, strings.Join(from, ", "))
	case h.filtered:
		script = "delete table inet " + filterTable + "\n"
	default:
		return nil
	}
	cmd := exec.Command("ip", "netns", "exec", h.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %w: %s\n%s", h.Name, err, bytes.TrimSpace(out), script)
	}
	h.filtered = len(from) > 0
	return nil
}

func (n *Net) owns(h *Host) bool {
	if h == nil || h.net != n {
		n.t.Errorf("lab: host %v is not on net %s", h, n.id)
		return false
	}
	return true
}

// cleanup kills every process in the Net's namespaces, Start-ed or not, and
// deletes the namespaces.
func (n *Net) cleanup() {
	n.mu.Lock()
	hosts, namespaces := n.hosts, n.namespaces
	n.mu.Unlock()
	for _, h := range hosts {
		for _, p := range h.started() {
			if err := p.stop(); err != nil {
				n.t.Errorf("lab: %s: %v", h.Name, err)
			}
		}
	}
	for _, ns := range slices.Backward(namespaces) {
		if err := killNamespace(ns); err != nil {
			n.t.Errorf("lab: %v", err)
		}
		if err := ipRun("netns", "delete", ns); err != nil {
			n.t.Errorf("lab: %v", err)
		}
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); !os.IsNotExist(err) {
			n.t.Errorf("lab: namespace %s still exists after delete (%v)", ns, err)
		}
	}
}

// killNamespace SIGKILLs every process in namespace ns (whatever started it)
// and waits until none is left.
func killNamespace(ns string) error {
	deadline := time.Now().Add(stopTimeout)
	for {
		out, err := exec.Command("ip", "netns", "pids", ns).Output()
		if err != nil {
			return fmt.Errorf("ip netns pids %s: %w", ns, err)
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %s still in namespace %s after SIGKILL", strings.Join(pids, " "), ns)
		}
		for _, s := range pids {
			if pid, err := strconv.Atoi(s); err == nil && pid > 1 && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ipRun(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func runAll(cmds ...[]string) error {
	for _, args := range cmds {
		if err := ipRun(args...); err != nil {
			return err
		}
	}
	return nil
}

// Command returns a command that runs inside h's namespace (through
// ip netns exec, which execs the program: the command's PID is the
// program's).
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Do runs fn on an OS thread of this process that is in h's network
// namespace, so that the sockets fn opens belong to h. Goroutines fn starts
// run elsewhere, in this machine's namespace.
func (h *Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", h.NS))
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter %s: %w", h.NS, err)
			return
		}
		err = fn()
		// A thread that cannot go back stays locked: it ends with this
		// goroutine and no other goroutine ever runs in h.
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// Dial connects from h to address, an IP and port ("10.213.7.2:7000"; no
// names: resolving them would happen outside h). Close the connection: it
// keeps h's namespace alive.
func (h *Host) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(address); err != nil {
		return nil, fmt.Errorf("dial from %s: %w", h.Name, err)
	}
	var c net.Conn
	err := h.Do(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// Listen listens in h (net.Listen), on address given as IP and port.
func (h *Host) Listen(network, address string) (net.Listener, error) {
	var l net.Listener
	err := h.Do(func() (err error) {
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// ListenPacket listens in h (net.ListenPacket), on address given as IP and
// port.
func (h *Host) ListenPacket(network, address string) (net.PacketConn, error) {
	var c net.PacketConn
	err := h.Do(func() (err error) {
		c, err = net.ListenPacket(network, address)
		return err
	})
	return c, err
}

// Start runs a long-lived process in h. Its standard output and error go to
// a log file in t.TempDir() (see Proc.Log); it is killed (SIGCONT, then
// SIGKILL to its process group) and waited for when t ends.
func (h *Host) Start(t testing.TB, name string, args ...string) *Proc {
	t.Helper()
	return h.StartCmd(t, h.Command(context.Background(), name, args...))
}

// StartCmd is Start for a command made by h.Command, for callers that set
// its environment or directory. StartCmd sets its Stdout, Stderr and
// SysProcAttr.Setpgid (and Pdeathsig, so that the process dies with the test
// binary). Wait for it with Proc.Wait, not Cmd.Wait.
func (h *Host) StartCmd(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	h.mu.Lock()
	seq := len(h.procs) + 1
	h.mu.Unlock()
	prog := cmd.Args[0]
	if len(cmd.Args) > 4 && cmd.Args[1] == "netns" && cmd.Args[2] == "exec" {
		prog = cmd.Args[4]
	}
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d-%s.log", h.Name, seq, filepath.Base(prog)))
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		t.Fatalf("lab: start %s on %s: %v", strings.Join(cmd.Args, " "), h.Name, err)
	}
	p := &Proc{Cmd: cmd, log: logPath, exited: make(chan struct{})}
	go p.watch()
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("lab: %s: %v", h.Name, err)
		}
	})
	return p
}

func (h *Host) started() []*Proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.procs)
}

// Kill SIGKILLs every process Start-ed on h, with their process groups (host
// death), and returns once they have exited.
func (h *Host) Kill() {
	procs := h.started()
	for _, p := range procs {
		p.signalGroup(syscall.SIGKILL)
	}
	for _, p := range procs {
		p.Wait(stopTimeout)
	}
}

// Pause SIGSTOPs every process Start-ed on h, with their process groups, and
// returns once they are stopped.
func (h *Host) Pause() {
	procs := h.started()
	for _, p := range procs {
		p.signalGroup(syscall.SIGSTOP)
	}
	for _, p := range procs {
		p.waitState(func(s byte) bool { return s == 'T' })
	}
}

// Resume SIGCONTs every process Start-ed on h, with their process groups,
// and returns once they run again.
func (h *Host) Resume() {
	procs := h.started()
	for _, p := range procs {
		p.signalGroup(syscall.SIGCONT)
	}
	for _, p := range procs {
		p.waitState(func(s byte) bool { return s != 'T' })
	}
}

// Proc is a process Start-ed on a Host, leader of its own process group.
type Proc struct {
	Cmd *exec.Cmd

	log    string
	exited chan struct{} // closed when the process has exited (maybe not yet reaped)

	mu     sync.Mutex
	reaped bool // after this its PID, and so its group's, may be reused
	err    error
}

// watch closes p.exited when the process exits, without reaping it: until
// reap, the PID stays ours and signalling the process group is safe.
func (p *Proc) watch() {
	defer close(p.exited)
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.Cmd.Process.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}

// Log returns what the process wrote so far, standard output and error.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// LogPath is the file the process writes to.
func (p *Proc) LogPath() string { return p.log }

// Signal sends sig to the process (not its group).
func (p *Proc) Signal(sig os.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return os.ErrProcessDone
	}
	return p.Cmd.Process.Signal(sig)
}

// Alive reports whether the process has not exited.
func (p *Proc) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Wait waits up to timeout for the process to exit. It returns whether it
// did and then the process's exit error (nil for status 0, an
// *exec.ExitError otherwise).
func (p *Proc) Wait(timeout time.Duration) (exited bool, err error) {
	if p.Alive() {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-p.exited:
		case <-timer.C:
			return false, nil
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reaped {
		p.err = p.Cmd.Wait()
		p.reaped = true
	}
	return true, p.err
}

// signalGroup signals the process group, unless the leader is reaped (its
// PID could then name another process's group).
func (p *Proc) signalGroup(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reaped {
		syscall.Kill(-p.Cmd.Process.Pid, sig)
	}
}

// stop kills the process group and reaps the leader.
func (p *Proc) stop() error {
	p.signalGroup(syscall.SIGCONT)
	p.signalGroup(syscall.SIGKILL)
	if exited, _ := p.Wait(stopTimeout); !exited {
		return fmt.Errorf("%s (pid %d) did not exit %s after SIGKILL", strings.Join(p.Cmd.Args, " "), p.Cmd.Process.Pid, stopTimeout)
	}
	return nil
}

// waitState polls the leader's state until ok accepts it or it exits.
func (p *Proc) waitState(ok func(state byte) bool) {
	deadline := time.Now().Add(2 * time.Second)
	for p.Alive() && time.Now().Before(deadline) {
		s, err := procState(p.Cmd.Process.Pid)
		if err != nil || s == 'Z' || s == 'X' || ok(s) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// procState is the state letter of /proc/PID/stat: R, S, D, T, Z, ...
func procState(pid int) (byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatState(b)
}

// parseStatState reads the state from a /proc/PID/stat line, whose second
// field (the command name, in parentheses) may hold spaces and parentheses.
func parseStatState(stat []byte) (byte, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) || stat[i+1] != ' ' {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	return stat[i+2], nil
}
