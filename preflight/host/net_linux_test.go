package host

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// netLab is a pair of network namespaces joined by a veth pair:
// "near" (where the test runs) has 10.77.N.1/24 permanent and 10.77.N.9/24
// with a finite lifetime (as a DHCP client leaves it) and a default route
// via 10.77.N.2, the address of "far". Nothing leaves the namespaces.
type netLab struct {
	near, far string
	net       int
}

func newNetLab(t *testing.T, withDefault bool) *netLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (run as root to test Links, DefaultRoute and Ping for real)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2) to create network namespaces")
	}
	n := os.Getpid()%200 + 20
	lab := &netLab{
		near: fmt.Sprintf("vmnode-near-%d-%d", os.Getpid(), len(t.Name())),
		far:  fmt.Sprintf("vmnode-far-%d-%d", os.Getpid(), len(t.Name())),
		net:  n,
	}
	pfx := fmt.Sprintf("10.77.%d.", n)
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", lab.near).Run()
		_ = exec.Command("ip", "netns", "del", lab.far).Run()
	})
	cmds := [][]string{
		{"netns", "add", lab.near},
		{"netns", "add", lab.far},
		{"-n", lab.near, "link", "add", "vm0", "type", "veth", "peer", "name", "vm1", "netns", lab.far},
		{"-n", lab.near, "link", "set", "lo", "up"},
		{"-n", lab.far, "link", "set", "lo", "up"},
		{"-n", lab.near, "addr", "add", pfx + "1/24", "dev", "vm0"},
		{"-n", lab.near, "addr", "add", pfx + "9/24", "dev", "vm0", "valid_lft", "600", "preferred_lft", "300"},
		{"-n", lab.far, "addr", "add", pfx + "2/24", "dev", "vm1"},
		{"-n", lab.near, "link", "set", "vm0", "up"},
		{"-n", lab.far, "link", "set", "vm1", "up"},
	}
	if withDefault {
		cmds = append(cmds, []string{"-n", lab.near, "route", "add", "default", "via", pfx + "2", "dev", "vm0"})
	}
	for _, c := range cmds {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return lab
}

func (l *netLab) addr(host int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("10.77.%d.%d", l.net, host))
}

// in runs fn with the calling OS thread switched into the namespace name.
func (l *netLab) in(t *testing.T, name string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatalf("current netns: %v", err)
	}
	defer orig.Close()
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("netns %s: %v", name, err)
	}
	defer ns.Close()
	if err := netns.Set(ns); err != nil {
		t.Fatalf("enter netns %s: %v", name, err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			panic(fmt.Sprintf("cannot return to the original netns: %v", err)) // the thread is unusable
		}
	}()
	fn()
}

func TestLiveLinksInNetns(t *testing.T) {
	lab := newNetLab(t, true)
	var links []Link
	var err error
	lab.in(t, lab.near, func() { links, err = Live{}.Links() })
	if err != nil {
		t.Fatalf("Links: %v", err)
	}
	var vm0 *Link
	for i := range links {
		if links[i].Name == "vm0" {
			vm0 = &links[i]
		}
	}
	if vm0 == nil || len(links) != 2 {
		t.Fatalf("links = %+v, want lo and vm0", links)
	}
	if !vm0.Up || vm0.Index == 0 {
		t.Errorf("vm0 = %+v, want up with an index", vm0)
	}
	got := map[netip.Addr]Addr{}
	for _, a := range vm0.Addrs {
		got[a.Prefix.Addr()] = a
	}
	static, ok := got[lab.addr(1)]
	if !ok || !static.Permanent || static.ValidLft != 0 || static.Prefix.Bits() != 24 {
		t.Errorf("static address = %+v (found %v), want permanent /24 with ValidLft 0 (forever)", static, ok)
	}
	lease, ok := got[lab.addr(9)]
	if !ok || lease.Permanent || lease.ValidLft <= 0 || lease.ValidLft > 600*time.Second {
		t.Errorf("leased address = %+v (found %v), want not permanent with 0 < ValidLft <= 600s", lease, ok)
	}
}

func TestLiveDefaultRouteInNetns(t *testing.T) {
	lab := newNetLab(t, true)
	var r Route
	var ok bool
	var err error
	lab.in(t, lab.near, func() { r, ok, err = Live{}.DefaultRoute() })
	if err != nil || !ok {
		t.Fatalf("DefaultRoute = %v, %v, want a route", ok, err)
	}
	if want := (Route{Gateway: lab.addr(2), Link: "vm0"}); r != want {
		t.Errorf("route = %+v, want %+v", r, want)
	}
	lab.in(t, lab.far, func() { r, ok, err = Live{}.DefaultRoute() })
	if err != nil || ok {
		t.Errorf("far side: DefaultRoute = %+v, %v, %v; want none", r, ok, err)
	}
}

func TestLivePingInNetns(t *testing.T) {
	lab := newNetLab(t, true)
	// Let the unprivileged path work too (it is disabled by default in a new namespace).
	if out, err := exec.Command("ip", "netns", "exec", lab.near, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647").CombinedOutput(); err != nil {
		t.Logf("sysctl ping_group_range: %v: %s (udp4 case may fail)", err, out)
	}
	for _, network := range []string{"ip4:icmp", "udp4"} {
		t.Run(network, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var rtt time.Duration
			var err error
			lab.in(t, lab.near, func() { rtt, err = ping(ctx, network, lab.addr(2)) })
			if err != nil || rtt <= 0 {
				t.Fatalf("ping gateway = %v, %v; want a reply", rtt, err)
			}
		})
	}
	t.Run("Live.Ping", func(t *testing.T) {
		var err error
		lab.in(t, lab.near, func() { _, err = Live{}.Ping(context.Background(), lab.addr(2)) })
		if err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("silent address honours ctx", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		var err error
		lab.in(t, lab.near, func() { _, err = Live{}.Ping(ctx, lab.addr(3)) })
		if err == nil {
			t.Fatal("ping of an address nobody holds succeeded")
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("ping took %v after a 300ms deadline", el)
		}
	})
	t.Run("cancelled ctx", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var err error
		lab.in(t, lab.near, func() { _, err = Live{}.Ping(ctx, lab.addr(2)) })
		if err == nil {
			t.Fatal("ping with a cancelled ctx succeeded")
		}
	})
}
