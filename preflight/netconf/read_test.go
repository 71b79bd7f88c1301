package netconf

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestReadFixtureTrees(t *testing.T) {
	tests := []struct {
		tree  string
		want  []string // "name method addrs gw source", one per Iface
		first string   // FirstStatic, "" for none
	}{
		{"almalinux-8.9", []string{
			"eno1 static [172.16.10.21/24] 172.16.10.1 /etc/sysconfig/network-scripts/ifcfg-eno1",
			"eno2 dhcp [] invalid IP /etc/sysconfig/network-scripts/ifcfg-eno2",
			"eno1.20 static [10.20.0.21/24] invalid IP /etc/NetworkManager/system-connections/storage.nmconnection",
		}, "172.16.10.21"},
		{"ubuntu-20.04", []string{
			"ens3 static [10.30.0.12/24] 10.30.0.1 /etc/netplan/00-installer-config.yaml",
		}, "10.30.0.12"},
		{"debian-12", []string{
			"lo loopback [] invalid IP /etc/network/interfaces",
			"enp1s0 static [192.168.50.7/24] 192.168.50.1 /etc/network/interfaces",
			"enp2s0 dhcp [] invalid IP /etc/network/interfaces.d/enp2s0",
			"enp2s0 dhcp [] invalid IP /etc/network/interfaces.d/enp2s0",
		}, "192.168.50.7"},
		{"centos-7", []string{
			"eth0 dhcp [] invalid IP /etc/sysconfig/network-scripts/ifcfg-eth0",
			"lo loopback [127.0.0.1/8] invalid IP /etc/sysconfig/network-scripts/ifcfg-lo",
		}, ""},
		{"ubuntu-22.04-arm64", []string{
			"eth0 static [10.40.0.15/24] 10.40.0.1 /etc/systemd/network/10-eth0.network",
			"wlan* dhcp [] invalid IP /etc/systemd/network/20-wireless.network",
			"wlx* dhcp [] invalid IP /etc/systemd/network/20-wireless.network",
		}, "10.40.0.15"},
	}
	for _, tt := range tests {
		t.Run(tt.tree, func(t *testing.T) {
			ifaces, errs := Read(hosttest.Tree(t, tt.tree))
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			var got []string
			for _, i := range ifaces {
				got = append(got, strings.Join([]string{i.Name, i.Method, fmtAddrs(i.Addrs), i.Gateway.String(), i.Source}, " "))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Read:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			a, ok := FirstStatic(ifaces)
			if g := map[bool]string{true: a.String(), false: ""}[ok]; g != tt.first {
				t.Errorf("FirstStatic = %q, want %q", g, tt.first)
			}
		})
	}
}

func fmtAddrs(l []netip.Prefix) string {
	s := make([]string, len(l))
	for i, p := range l {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

func mapHost(files map[string]string) *host.Host {
	m := fstest.MapFS{}
	for p, c := range files {
		m[p] = &fstest.MapFile{Data: []byte(c), Mode: 0o644}
	}
	return &host.Host{Root: "/", Files: m, Clock: time.Now}
}

func TestReadGarbageDoesNotHideOthers(t *testing.T) {
	h := mapHost(map[string]string{
		"etc/sysconfig/network-scripts/ifcfg-eth0":     "BOOTPROTO=none\nIPADDR=10.1.2.3\nPREFIX=24\n",
		"etc/sysconfig/network-scripts/ifcfg-eth1":     "\x00\x01garbage",
		"etc/sysconfig/network-scripts/ifcfg-eth0.bak": "BOOTPROTO=dhcp\n",
		"etc/netplan/01.yaml":                          "network: [unclosed",
		"etc/network/interfaces":                       "source-directory interfaces.d\nsource /etc/network/loop\n",
		"etc/network/interfaces.d/eth2":                "iface eth2 inet static\n address 10.9.9.9/16\n",
		"etc/network/interfaces.d/skip.cfg":            "iface skipped inet dhcp\n",
		"etc/network/loop":                             "source /etc/network/interfaces\n",
		"etc/systemd/network/x.network":                "[Network]\nDHCP=perhaps\n",
	})
	ifaces, errs := Read(h)
	var names []string
	for _, i := range ifaces {
		names = append(names, i.Name)
	}
	if strings.Join(names, ",") != "eth0,eth2" {
		t.Errorf("ifaces = %v, want eth0 and eth2 (backup and run-parts-invalid names skipped)", names)
	}
	if len(errs) != 3 {
		t.Fatalf("errors = %v, want 3 (ifcfg-eth1, netplan, networkd)", errs)
	}
	for i, want := range []string{"ifcfg-eth1", "/etc/netplan/01.yaml", "x.network"} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d = %v, want it to name %s", i, errs[i], want)
		}
	}
}

func TestReadMissingEverything(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/etc", 0o755); err != nil {
		t.Fatal(err)
	}
	ifaces, errs := Read(hosttest.Rooted(t, dir))
	if len(ifaces) != 0 || len(errs) != 0 {
		t.Errorf("Read of an empty tree = %v, %v; want nothing", ifaces, errs)
	}
}

func TestFirstStatic(t *testing.T) {
	got, ok := FirstStatic([]Iface{
		{Name: "lo", Method: MethodLoopback, Addrs: []netip.Prefix{pfx("127.0.0.1/8")}},
		{Name: "eth0", Method: MethodStatic, Addrs: []netip.Prefix{pfx("fe80::1/64"), pfx("2001:db8::5/64")}},
		{Name: "eth1", Method: MethodStatic, Addrs: []netip.Prefix{pfx("10.0.0.5/24")}},
	})
	if !ok || got != netip.MustParseAddr("10.0.0.5") {
		t.Errorf("FirstStatic = %v %v, want IPv4 10.0.0.5 before IPv6", got, ok)
	}
	got, ok = FirstStatic([]Iface{{Name: "eth0", Addrs: []netip.Prefix{pfx("fe80::1/64"), pfx("2001:db8::5/64")}}})
	if !ok || got != netip.MustParseAddr("2001:db8::5") {
		t.Errorf("FirstStatic = %v %v, want 2001:db8::5 (not link-local)", got, ok)
	}
	if _, ok := FirstStatic(nil); ok {
		t.Error("FirstStatic(nil) found an address")
	}
}
