package lab

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLibvirtdMigrateBetweenHosts gives two hosts a libvirtd each: they are
// separate hosts to libvirt (own state, distinct UUIDs), a TCG domain runs
// on h1, survives a restart of h1's libvirtd, and live-migrates to h2 over
// the lab network. Nothing is left running afterwards.
func TestLibvirtdMigrateBetweenHosts(t *testing.T) {
	name := "vmnlab-" + randomHex(4)
	// Registered before NewNet: runs after the Libvirtds and the Net are gone.
	var namespaces []string
	t.Cleanup(func() {
		t.Logf("cleanup at %s", time.Now().Format(time.StampMilli))
		if out, err := exec.Command("pgrep", "-a", "-f", "guest="+name+",").Output(); err == nil {
			t.Errorf("QEMU of %s still running after cleanup:\n%s", name, out)
		}
		for _, ns := range namespaces {
			if _, err := os.Stat(filepath.Join("/run/netns", ns)); !os.IsNotExist(err) {
				t.Errorf("namespace %s left behind (%v)", ns, err)
			}
		}
	})
	n := NewNet(t, 2)
	h1, h2 := n.Host(0), n.Host(1)
	namespaces = []string{n.BridgeNS(), h1.NS, h2.NS}
	l1 := h1.StartLibvirtd(t)
	l2 := h2.StartLibvirtd(t)

	// Two hosts to libvirt: each reports the UUID it was given.
	u1, err := l1.HostUUID()
	if err != nil {
		t.Fatal(err)
	}
	u2, err := l2.HostUUID()
	if err != nil {
		t.Fatal(err)
	}
	if u1 != l1.UUID || u2 != l2.UUID || u1 == u2 {
		t.Fatalf("host UUIDs: h1 reports %s (want %s), h2 %s (want %s): want distinct", u1, l1.UUID, u2, l2.UUID)
	}

	// Separate state: a domain defined on h1 is not on h2, nor on the
	// machine's own libvirtd.
	xmlPath := filepath.Join(t.TempDir(), name+".xml")
	domXML := "<domain type='qemu'><name>" + name + "</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>" +
		"<os><type arch='x86_64'>hvm</type></os><devices><serial type='pty'/></devices></domain>"
	if err := os.WriteFile(xmlPath, []byte(domXML), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l1.Virsh("define", xmlPath); err != nil {
		t.Fatal(err)
	}
	requireDomains(t, l1, name)
	refuteDomain(t, l2, name)
	if out, err := exec.Command("virsh", "-q", "-c", "qemu:///system", "list", "--all", "--name").Output(); err != nil {
		t.Logf("the machine's libvirtd does not answer (%v): not checked", err)
	} else if slices.Contains(strings.Fields(string(out)), name) {
		t.Errorf("domain %s defined on h1 shows on the machine's libvirtd", name)
	}

	start := time.Now()
	if _, err := l1.Virsh("start", name); err != nil {
		t.Fatal(err)
	}
	t.Logf("domain started on h1 in %s", time.Since(start).Round(time.Millisecond))
	requireState(t, l1, name, "running")
	qemu := qemuPID(t, l1, name)
	if !slices.Contains(netnsPIDs(t, h1.NS), qemu) {
		t.Errorf("QEMU %d is not in h1's namespace", qemu)
	}

	// A restart of libvirtd leaves QEMU running and reattaches to it.
	old := l1.PID()
	start = time.Now()
	if err := l1.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("libvirtd on h1 restarted in %s", time.Since(start).Round(time.Millisecond))
	if l1.PID() == old {
		t.Errorf("libvirtd PID %d unchanged by Restart", old)
	}
	requireState(t, l1, name, "running")
	if got := qemuPID(t, l1, name); got != qemu {
		t.Errorf("QEMU PID after restart = %d, want %d (the same process)", got, qemu)
	}

	// Live migration h1 -> h2, over the lab network.
	start = time.Now()
	if _, err := l1.Virsh("migrate", "--live", "--p2p", "--persistent", "--undefinesource", name, l2.URI); err != nil {
		t.Fatal(err)
	}
	t.Logf("live migration h1 -> h2 in %s", time.Since(start).Round(time.Millisecond))
	requireState(t, l2, name, "running")
	refuteDomain(t, l1, name)
	if !slices.Contains(netnsPIDs(t, h2.NS), qemuPID(t, l2, name)) {
		t.Errorf("QEMU of the migrated domain is not in h2's namespace")
	}
	if out, err := l2.Virsh("dominfo", name); err != nil || !strings.Contains(out, "Persistent:     yes") {
		t.Errorf("dominfo on h2: %v\n%s\nwant persistent", err, out)
	}

	// Stop destroys the domain and leaves nothing in the namespace; Start
	// brings back the same state.
	start = time.Now()
	if err := l2.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("libvirtd on h2 stopped in %s", time.Since(start).Round(time.Millisecond))
	if pids := netnsPIDs(t, h2.NS); len(pids) > 0 {
		t.Errorf("processes %v left in h2's namespace after Stop", pids)
	}
	if err := l2.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	start = time.Now()
	if err := l2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("libvirtd on h2 started again in %s", time.Since(start).Round(time.Millisecond))
	requireState(t, l2, name, "shut off")

	for _, l := range []*Libvirtd{l1, l2} {
		start = time.Now()
		if err := l.Stop(); err != nil {
			t.Fatal(err)
		}
		t.Logf("libvirtd on %s stopped in %s", l.Host.Name, time.Since(start).Round(time.Millisecond))
		if pids := netnsPIDs(t, l.Host.NS); len(pids) > 0 {
			t.Errorf("processes %v left in %s's namespace after Stop", pids, l.Host.Name)
		}
	}
}

// TestLibvirtdStartFailure: a libvirtd that cannot start is reported with
// its log, and leaves nothing running.
func TestLibvirtdStartFailure(t *testing.T) {
	h := NewNet(t, 1).Host(0)
	requireLibvirtd(t)
	// The port libvirtd listens on is taken.
	ln, err := h.Listen("tcp", net.JoinHostPort(h.Addr.String(), "16509"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l, err := newLibvirtd(t, h)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Start()
	if err == nil {
		t.Fatal("Start succeeded with port 16509 taken")
	}
	t.Logf("Start: %v", err)
	if !strings.Contains(err.Error(), "Address already in use") {
		t.Errorf("error does not show the daemon's log")
	}
	if l.PID() != 0 {
		t.Errorf("PID = %d after a failed Start", l.PID())
	}
	if pids := netnsPIDs(t, h.NS); len(pids) > 0 {
		t.Errorf("processes %v left in the namespace after a failed Start", pids)
	}
}

// TestLibvirtdCleanup: domains left running are destroyed when the test
// ends, and when the test process dies (tini gets SIGTERM, see Start),
// without orphans.
func TestLibvirtdCleanup(t *testing.T) {
	h := NewNet(t, 1).Host(0)
	requireLibvirtd(t)
	domXML := filepath.Join(t.TempDir(), "dom.xml")
	if err := os.WriteFile(domXML, []byte("<domain type='qemu'><name>vmnlab-"+randomHex(4)+"</name>"+
		"<memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>"), 0o644); err != nil {
		t.Fatal(err)
	}
	// runDomain starts l with a transient domain running and returns the
	// domain's QEMU.
	runDomain := func(t *testing.T, l *Libvirtd) int {
		t.Helper()
		if _, err := l.Virsh("create", domXML); err != nil {
			t.Fatal(err)
		}
		out, err := l.Virsh("list", "--name")
		if err != nil || len(strings.Fields(out)) != 1 {
			t.Fatalf("running domains: %q, %v", out, err)
		}
		return qemuPID(t, l, strings.TrimSpace(out))
	}
	requireGone := func(t *testing.T, what string, dir string, qemu int) {
		t.Helper()
		if pids := netnsPIDs(t, h.NS); len(pids) > 0 {
			t.Errorf("%s: processes %v left in the namespace", what, pids)
		}
		if err := syscall.Kill(qemu, 0); err == nil {
			if state, err := procState(qemu); err == nil && state != 'Z' {
				t.Errorf("%s: QEMU %d still running", what, qemu)
			}
		}
		if dir != "" {
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("%s: %s left behind (%v)", what, dir, err)
			}
		}
	}

	var dir string
	var qemu int
	t.Run("test ends", func(t *testing.T) {
		l := h.StartLibvirtd(t)
		dir, qemu = l.Dir, runDomain(t, l)
	})
	requireGone(t, "after the test", dir, qemu)

	l := h.StartLibvirtd(t)
	qemu = runDomain(t, l)
	// What the kernel sends tini when this process dies (Pdeathsig).
	l.mu.Lock()
	p := l.proc
	l.mu.Unlock()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if exited, _ := p.Wait(libvirtdStopTimeout); !exited {
		t.Fatalf("libvirtd still running %s after SIGTERM to tini", libvirtdStopTimeout)
	}
	requireGone(t, "after SIGTERM to tini", "", qemu)
	if !strings.Contains(l.logTail(0), "killing leftover QEMU") {
		t.Errorf("the script did not kill the QEMU; log:\n%s", l.logTail(0))
	}
	if err := l.Stop(); err != nil {
		t.Errorf("Stop after the daemon died: %v", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func requireDomains(t *testing.T, l *Libvirtd, name string) {
	t.Helper()
	out, err := l.Virsh("list", "--all", "--name")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(out), name) {
		t.Fatalf("domain %s not on %s: %q", name, l.Host.Name, out)
	}
}

func refuteDomain(t *testing.T, l *Libvirtd, name string) {
	t.Helper()
	out, err := l.Virsh("list", "--all", "--name")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(strings.Fields(out), name) {
		t.Errorf("domain %s shows on %s", name, l.Host.Name)
	}
}

func requireState(t *testing.T, l *Libvirtd, name, want string) {
	t.Helper()
	out, err := l.Virsh("domstate", name)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); got != want {
		t.Fatalf("domain %s on %s is %q, want %q", name, l.Host.Name, got, want)
	}
}

// qemuPID reads the PID libvirt recorded for a running domain.
func qemuPID(t *testing.T, l *Libvirtd, name string) int {
	t.Helper()
	pid, err := readPIDFile(filepath.Join(l.Dir, "run", "qemu", name+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// netnsPIDs lists the processes in namespace ns.
func netnsPIDs(t *testing.T, ns string) []int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", ns, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
