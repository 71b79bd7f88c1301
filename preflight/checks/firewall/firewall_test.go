package firewall

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/checktest"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
)

func profile(t *testing.T) *profiles.Profile {
	t.Helper()
	return checktest.Profile(t, "vmmanager-kvm")
}

func run(t *testing.T, p *profiles.Profile, id string, h *host.Host) preflight.Result {
	t.Helper()
	return checktest.Run(t, Checks(p), id, h)
}

func TestNftablesTrees(t *testing.T) {
	for tree, want := range map[string]struct {
		status preflight.Status
		remedy string
	}{
		"almalinux-8.9":      {preflight.Pass, ""},
		"ubuntu-20.04":       {preflight.Pass, ""},
		"debian-12":          {preflight.Fail, "systemctl enable nftables"},
		"centos-7":           {preflight.Fail, "dnf install -y nftables && systemctl enable nftables"},
		"ubuntu-22.04-arm64": {preflight.Fail, "apt-get install -y nftables && systemctl enable nftables"},
	} {
		r := run(t, profile(t), "firewall.nftables-enabled", hosttest.Tree(t, tree))
		if r.Status != want.status || r.Remediation != want.remedy {
			t.Errorf("%s: %s %q remedy %q, want %s %q", tree, r.Status, r.Message, r.Remediation, want.status, want.remedy)
		}
		if r.Status == preflight.Fail && r.Fix != "services" {
			t.Errorf("%s: fix %q", tree, r.Fix)
		}
	}
	p := profile(t)
	p.Firewall.NftablesEnabled = false
	if r := run(t, p, "firewall.nftables-enabled", hosttest.Tree(t, "debian-12")); r.Status != preflight.Skip {
		t.Errorf("not required: %s", r.Status)
	}
}

// The sockets of a host: sshd on 0.0.0.0:22 (allowed), nginx on [::]:22
// (not), an established SSH connection, chronyd on 127.0.0.1:323, the
// kernel's VXLAN socket on 4789/udp, a connected UDP client on 49152.
var sockets = []host.Socket{
	{Proto: "tcp", Local: netip.MustParseAddrPort("0.0.0.0:22"), State: host.SocketListen, Inode: 21234},
	{Proto: "tcp", Local: netip.MustParseAddrPort("10.0.2.15:22"), Remote: netip.MustParseAddrPort("10.0.2.2:54466"), State: host.SocketEstablished, Inode: 31337},
	{Proto: "tcp", Local: netip.MustParseAddrPort("[::]:22"), State: host.SocketListen, Inode: 21236},
	{Proto: "udp", Local: netip.MustParseAddrPort("127.0.0.1:323"), State: host.SocketClose, Inode: 18830},
	{Proto: "udp", Local: netip.MustParseAddrPort("0.0.0.0:4789"), State: host.SocketClose},
	{Proto: "udp", Local: netip.MustParseAddrPort("10.0.2.15:49152"), Remote: netip.MustParseAddrPort("8.8.8.8:53"), State: host.SocketEstablished, Inode: 5555},
}

var profilesPorts = []profiles.Port{
	{Port: profiles.PortRange{First: 22, Last: 22}, Proto: "tcp", Service: []string{"sshd"}},
	{Port: profiles.PortRange{First: 4789, Last: 4789}, Proto: "udp"},
	{Port: profiles.PortRange{First: 49152, Last: 49215}, Proto: "udp"},
}

// Scripted sockets and /proc: sshd holds 22 (allowed), nginx holds 22 on IPv6 (not),
// the kernel holds 4789/udp, a connected UDP client on 49152 is ignored.
func TestPortsScriptedProc(t *testing.T) {
	dir := checktest.WriteTree(t, map[string]string{
		"proc/812/comm":   "sshd\n",
		"proc/812/fd/3":   "@socket:[21234]",
		"proc/812/fd/0":   "@/dev/null",
		"proc/900/comm":   "nginx\n",
		"proc/900/cgroup": "0::/system.slice/nginx.service\n",
		"proc/900/fd/6":   "@socket:[21236]",
	})
	k := &hosttest.Kernel{SocketList: sockets}
	h := hosttest.Live(t, dir, k, hosttest.Runner{}, hosttest.NTP{})
	p := &profiles.Profile{Firewall: profiles.Firewall{Ports: profilesPorts}}
	r := run(t, p, "firewall.ports", h)
	if r.Status != preflight.Fail {
		t.Fatalf("%s %q", r.Status, r.Message)
	}
	for _, s := range []string{":: 22/tcp held by nginx (pid 900)"} {
		if !strings.Contains(r.Message, s) {
			t.Errorf("message %q lacks %q", r.Message, s)
		}
	}
	if strings.Contains(r.Message, "sshd") || strings.Contains(r.Message, "49152") {
		t.Errorf("message %q blames sshd on its own port or a UDP client", r.Message)
	}
	if !strings.Contains(r.Remediation, "systemctl disable --now nginx.service") {
		t.Errorf("remedy %q", r.Remediation)
	}
	if !strings.Contains(r.Observed, "0.0.0.0 22/tcp held by sshd (pid 812)") || !strings.Contains(r.Observed, "4789/udp held by the kernel") {
		t.Errorf("observed %q", r.Observed)
	}
	// Without nginx: only the kernel's VXLAN socket remains, a warning.
	k.SocketList = slices.DeleteFunc(slices.Clone(sockets), func(s host.Socket) bool { return s.Inode == 21236 })
	if r := run(t, p, "firewall.ports", h); r.Status != preflight.Warn {
		t.Errorf("kernel socket only: %s %q", r.Status, r.Message)
	}
	// A kernel that cannot list sockets is an error, not a pass.
	k.Err = errors.New("sock_diag: operation not permitted")
	if r := run(t, p, "firewall.ports", h); r.Status != preflight.Error || !strings.Contains(r.Message, "operation not permitted") {
		t.Errorf("listing fails: %s %q", r.Status, r.Message)
	}
	if r := run(t, p, "firewall.ports", hosttest.Tree(t, "debian-12")); r.Status != preflight.Skip || !strings.Contains(r.Message, "live kernel") {
		t.Errorf("under --root: %s %q", r.Status, r.Message)
	}
}

func liveHost() *host.Host {
	return &host.Host{Root: "/", Files: host.RootFS("/"), Live: true, Exec: hosttest.Runner{}, Kernel: host.Live{}}
}

func selfComm(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// The real kernel: a listener this test opens on loopback is seen, held by
// the test binary itself, and allowed when the binary is the port's service.
func TestPortsLiveTCP(t *testing.T) {
	comm := selfComm(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	p := &profiles.Profile{Firewall: profiles.Firewall{Ports: []profiles.Port{{Port: profiles.PortRange{First: port, Last: port}, Proto: "tcp"}}}}
	r := run(t, p, "firewall.ports", liveHost())
	want := fmt.Sprintf("127.0.0.1 %d/tcp held by %s (pid %d)", port, comm, os.Getpid())
	if r.Status != preflight.Fail || !strings.Contains(r.Message, want) {
		t.Errorf("%s %q, want fail naming %q", r.Status, r.Message, want)
	}
	p.Firewall.Ports[0].Service = []string{comm}
	if r := run(t, p, "firewall.ports", liveHost()); r.Status != preflight.Pass || !strings.Contains(r.Message, want) {
		t.Errorf("held by its own service: %s %q", r.Status, r.Message)
	}
	ln.Close()
	if r := run(t, p, "firewall.ports", liveHost()); r.Status != preflight.Pass || !strings.Contains(r.Message, "free") {
		t.Errorf("after close: %s %q", r.Status, r.Message)
	}
}

func TestPortsLiveUDP(t *testing.T) {
	comm := selfComm(t)
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := uint16(c.LocalAddr().(*net.UDPAddr).Port)
	p := &profiles.Profile{Firewall: profiles.Firewall{Ports: []profiles.Port{{Port: profiles.PortRange{First: port, Last: port}, Proto: "udp"}}}}
	r := run(t, p, "firewall.ports", liveHost())
	if want := fmt.Sprintf("%d/udp held by %s (pid %d)", port, comm, os.Getpid()); r.Status != preflight.Fail || !strings.Contains(r.Message, want) {
		t.Errorf("%s %q, want fail naming %q", r.Status, r.Message, want)
	}
}

// The KVM profile on this machine: an answer, never an error.
func TestPortsLiveProfile(t *testing.T) {
	r := run(t, profile(t), "firewall.ports", liveHost())
	if r.Status == preflight.Error {
		t.Errorf("%s %q", r.Status, r.Message)
	}
	t.Logf("%s: %s", r.Status, r.Message)
}
