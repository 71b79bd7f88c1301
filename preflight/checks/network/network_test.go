package network

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/checktest"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/preflight/netconf"
	"github.com/vmnode/vmnode/profiles"
)

var required = &profiles.Profile{Name: "test", Network: profiles.Network{StaticAddress: true, HostsEntry: true, Gateway: true}}

func run(t *testing.T, id string, p *profiles.Profile, h *host.Host) preflight.Result {
	t.Helper()
	return checktest.Run(t, Checks(p), id, h)
}

// tree is a fixture tree read as under --root, with the node address found
// the way the CLI finds it there (first static address) unless addr is set.
func tree(t *testing.T, name, addr string) *host.Host {
	t.Helper()
	h := hosttest.Tree(t, name)
	setAddr(t, h, addr)
	return h
}

func setAddr(t *testing.T, h *host.Host, addr string) {
	t.Helper()
	if addr != "" {
		h.Address = netip.MustParseAddr(addr)
		return
	}
	ifaces, _ := netconf.Read(h)
	h.Address, _ = netconf.FirstStatic(ifaces)
}

// live is a fixture tree presented as a live host with kernel k.
func live(t *testing.T, name, addr string, k *hosttest.Kernel) *host.Host {
	t.Helper()
	h := hosttest.Live(t, hosttest.TreeDir(name), k, hosttest.Runner{}, nil)
	setAddr(t, h, addr)
	return h
}

// scratch is a temporary tree with the given files, read as under --root.
func scratch(t *testing.T, files map[string]string) *host.Host {
	t.Helper()
	return hosttest.Rooted(t, checktest.WriteTree(t, files))
}

type want struct {
	status preflight.Status
	msg    string // substring of Message
	fix    string // substring of Remediation (warn/fail)
}

func expect(t *testing.T, r preflight.Result, w want) {
	t.Helper()
	if r.Status != w.status || !strings.Contains(r.Message, w.msg) {
		t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Message, w.status, w.msg)
	}
	if r.Status == preflight.Warn || r.Status == preflight.Fail {
		if r.Observed == "" || r.Expected == "" || r.Remediation == "" {
			t.Errorf("a %s must carry observed, expected and a remediation: %+v", r.Status, r)
		}
		if !strings.Contains(r.Remediation, w.fix) {
			t.Errorf("remediation %q does not contain %q", r.Remediation, w.fix)
		}
	}
}

func TestChecksIDs(t *testing.T) {
	var ids []string
	for _, c := range Checks(&profiles.Profile{}) {
		ids = append(ids, c.ID())
		if c.Title() == "" {
			t.Errorf("%s has no title", c.ID())
		}
	}
	got := strings.Join(ids, " ")
	if got != "network.hostname network.static-ip network.hosts-entry network.resolv-conf network.gateway network.interface-names" {
		t.Errorf("IDs = %s", got)
	}
}

func TestTrees(t *testing.T) {
	tests := []struct {
		tree string
		id   string
		want want
	}{
		{"almalinux-8.9", IDHostname, want{preflight.Pass, "kvm-node01.example.com", ""}},
		{"centos-7", IDHostname, want{preflight.Fail, `"localhost.localdomain"`, "hostnamectl set-hostname"}},
		{"debian-12", IDHostname, want{preflight.Pass, "deb12-node03", ""}},

		{"almalinux-8.9", IDStaticIP, want{preflight.Pass, "172.16.10.21 is assigned statically in /etc/sysconfig/network-scripts/ifcfg-eno1", ""}},
		{"ubuntu-20.04", IDStaticIP, want{preflight.Pass, "/etc/netplan/00-installer-config.yaml", ""}},
		{"debian-12", IDStaticIP, want{preflight.Pass, "/etc/network/interfaces", ""}},
		{"ubuntu-22.04-arm64", IDStaticIP, want{preflight.Pass, "/etc/systemd/network/10-eth0.network", ""}},
		{"centos-7", IDStaticIP, want{preflight.Error, "no node address; pass --address", ""}},

		{"almalinux-8.9", IDHostsEntry, want{preflight.Pass, "line 3 maps 172.16.10.21 to kvm-node01.example.com", ""}},
		{"ubuntu-20.04", IDHostsEntry, want{preflight.Fail, "127.0.1.1 lxd-node02 does not count", "echo '10.30.0.12 lxd-node02' >> /etc/hosts"}},
		{"debian-12", IDHostsEntry, want{preflight.Pass, "192.168.50.7", ""}},
		{"ubuntu-22.04-arm64", IDHostsEntry, want{preflight.Pass, "arm-node05", ""}},

		{"almalinux-8.9", IDResolvConf, want{preflight.Pass, "nameserver 172.16.10.2, 172.16.10.3", ""}},
		{"ubuntu-20.04", IDResolvConf, want{preflight.Pass, "resolved.conf DNS=10.30.0.2 10.30.0.3", ""}},
		{"debian-12", IDResolvConf, want{preflight.Pass, "192.168.50.1", ""}},
		{"centos-7", IDResolvConf, want{preflight.Warn, "NetworkManager manages /etc/resolv.conf", "add dns=none to [main]"}},
		{"ubuntu-22.04-arm64", IDResolvConf, want{preflight.Fail, "sets no DNS= servers", "DNS=<server IP>"}},

		{"almalinux-8.9", IDGateway, want{preflight.Skip, "not available under --root", ""}},

		{"almalinux-8.9", IDInterfaceNames, want{preflight.Pass, "4 interfaces: eno1, eno1.20, eno2, lo", ""}},
		{"centos-7", IDInterfaceNames, want{preflight.Pass, "eth0, lo", ""}},
		{"debian-12", IDInterfaceNames, want{preflight.Pass, "enp1s0, enp2s0, lo", ""}},
		{"ubuntu-22.04-arm64", IDInterfaceNames, want{preflight.Fail, `"lan_мост"`, ".link"}},
	}
	for _, tt := range tests {
		t.Run(tt.tree+"/"+tt.id, func(t *testing.T) {
			expect(t, run(t, tt.id, required, tree(t, tt.tree, "")), tt.want)
		})
	}
}

func TestStaticIPRoot(t *testing.T) {
	tests := []struct {
		name, tree, addr string
		want             want
	}{
		{"centos dhcp", "centos-7", "10.0.2.15", want{preflight.Fail, "uses DHCP (eth0: dhcp (/etc/sysconfig/network-scripts/ifcfg-eth0))", "nmcli connection modify eth0 ipv4.method manual ipv4.addresses 10.0.2.15/24"}},
		{"alma other address, eno2 dhcp", "almalinux-8.9", "172.16.10.99", want{preflight.Fail, "none assigns 172.16.10.99 statically", "ipv4.method manual"}},
		{"debian sourced dhcp", "debian-12", "10.99.0.1", want{preflight.Fail, "enp2s0: dhcp (/etc/network/interfaces.d/enp2s0)", "iface enp2s0 inet static"}},
		{"ubuntu unknown address", "ubuntu-20.04", "10.30.0.99", want{preflight.Warn, "no network configuration file mentions 10.30.0.99", "/etc/netplan/"}},
		{"keyfile address", "almalinux-8.9", "10.20.0.21", want{preflight.Pass, "storage.nmconnection", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, run(t, IDStaticIP, required, tree(t, tt.tree, tt.addr)), tt.want)
		})
	}
}

func TestStaticIPGarbage(t *testing.T) {
	h := scratch(t, map[string]string{
		"etc/sysconfig/network-scripts/ifcfg-eth0": "this is ( not shell\n",
		"etc/netplan/50-cloud-init.yaml":           "network:\n  ethernets:\n    eth1:\n      addresses: [10.1.0.5/24]\n",
	})
	h.Address = netip.MustParseAddr("10.9.9.9")
	expect(t, run(t, IDStaticIP, required, h), want{preflight.Error, "ifcfg-eth0: line 1", ""})
	// The garbage file does not hide a good one that assigns the address.
	h.Address = netip.MustParseAddr("10.1.0.5")
	expect(t, run(t, IDStaticIP, required, h), want{preflight.Pass, "50-cloud-init.yaml", ""})
	expect(t, run(t, IDInterfaceNames, required, h), want{preflight.Error, "ifcfg-eth0", ""})
}

func permanent(p string) host.Addr {
	return host.Addr{Prefix: netip.MustParsePrefix(p), Permanent: true}
}

func TestStaticIPLive(t *testing.T) {
	lo := host.Link{Name: "lo", Index: 1, Up: true, Addrs: []host.Addr{permanent("127.0.0.1/8")}}
	tests := []struct {
		name, tree, addr string
		k                *hosttest.Kernel
		want             want
	}{
		{"static and permanent", "almalinux-8.9", "", &hosttest.Kernel{LinkList: []host.Link{lo, {Name: "eno1", Index: 2, Up: true, Addrs: []host.Addr{permanent("172.16.10.21/24")}}}},
			want{preflight.Pass, "172.16.10.21 on eno1 is permanent", ""}},
		{"lease despite static file", "almalinux-8.9", "", &hosttest.Kernel{LinkList: []host.Link{lo, {Name: "eno1", Index: 2, Addrs: []host.Addr{{Prefix: netip.MustParsePrefix("172.16.10.21/24"), ValidLft: 3599 * time.Second}}}}},
			want{preflight.Fail, "is a DHCP lease (valid for another 59m59s)", "BOOTPROTO=none"}},
		{"permanent but file says dhcp (dhclient)", "centos-7", "10.0.2.15", &hosttest.Kernel{LinkList: []host.Link{lo, {Name: "eth0", Index: 2, Addrs: []host.Addr{permanent("10.0.2.15/24")}}}},
			want{preflight.Fail, "eth0, which carries 10.0.2.15, is configured for DHCP in /etc/sysconfig/network-scripts/ifcfg-eth0", "ipv4.addresses 10.0.2.15/24"}},
		{"networkd glob dhcp", "ubuntu-22.04-arm64", "192.168.8.20", &hosttest.Kernel{LinkList: []host.Link{{Name: "wlan0", Index: 3, Addrs: []host.Addr{permanent("192.168.8.20/24")}}}},
			want{preflight.Fail, "wlan0, which carries 192.168.8.20, is configured for DHCP in /etc/systemd/network/20-wireless.network", "networkctl reload"}},
		{"permanent, in no file", "ubuntu-20.04", "10.30.0.99", &hosttest.Kernel{LinkList: []host.Link{{Name: "ens3", Index: 2, Addrs: []host.Addr{permanent("10.30.0.99/24")}}}},
			want{preflight.Warn, "no network configuration file mentions it", "netplan apply"}},
		{"configured but not on a link", "debian-12", "", &hosttest.Kernel{LinkList: []host.Link{lo}},
			want{preflight.Warn, "but no interface carries it now", "ifup enp1s0"}},
		{"links error", "debian-12", "", &hosttest.Kernel{Err: errors.New("netlink: permission denied")},
			want{preflight.Error, "netlink: permission denied", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, run(t, IDStaticIP, required, live(t, tt.tree, tt.addr, tt.k)), tt.want)
		})
	}
}

func TestNotRequired(t *testing.T) {
	p := &profiles.Profile{Name: "lab"}
	h := tree(t, "centos-7", "10.0.2.15")
	for _, id := range []string{IDStaticIP, IDHostsEntry, IDGateway} {
		expect(t, run(t, id, p, h), want{preflight.Pass, `not required by profile "lab"`, ""})
	}
	// The same host fails them when they are required.
	expect(t, run(t, IDStaticIP, required, h), want{preflight.Fail, "DHCP", "nmcli"})
	expect(t, run(t, IDHostsEntry, required, h), want{preflight.Fail, "does not map 10.0.2.15", "/etc/hosts"})
}

func TestGateway(t *testing.T) {
	gw := &host.Route{Gateway: netip.MustParseAddr("172.16.10.1"), Link: "eno1"}
	tests := []struct {
		name    string
		k       *hosttest.Kernel
		offline bool
		want    want
	}{
		{"answers", &hosttest.Kernel{Route: gw, PingRTT: 420 * time.Microsecond}, false, want{preflight.Pass, "gateway 172.16.10.1 via eno1 answers ping in 420µs", ""}},
		{"silent", &hosttest.Kernel{Route: gw, PingErr: errors.New("no reply: context deadline exceeded")}, false, want{preflight.Fail, "does not answer ping: no reply", "ping -c 3 172.16.10.1"}},
		{"no route", &hosttest.Kernel{}, false, want{preflight.Fail, "no IPv4 default route", "ip route add default via"}},
		{"route without gateway", &hosttest.Kernel{Route: &host.Route{Link: "ppp0"}}, false, want{preflight.Warn, "goes out ppp0 with no gateway", "ip route replace default via"}},
		{"routing table error", &hosttest.Kernel{Err: errors.New("netlink: EPERM")}, false, want{preflight.Error, "netlink: EPERM", ""}},
		{"offline", &hosttest.Kernel{Route: gw}, true, want{preflight.Skip, "--offline", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := live(t, "almalinux-8.9", "", tt.k)
			h.Offline = tt.offline
			expect(t, run(t, IDGateway, required, h), tt.want)
		})
	}
}

func TestGatewayPingHonoursDeadline(t *testing.T) {
	k := &deadlineKernel{Kernel: hosttest.Kernel{Route: &host.Route{Gateway: netip.MustParseAddr("10.0.0.1"), Link: "eth0"}}}
	h := live(t, "debian-12", "", &k.Kernel)
	h.Kernel = k
	run(t, IDGateway, required, h)
	if !k.hadDeadline {
		t.Error("Ping got a context without a deadline")
	}
}

type deadlineKernel struct {
	hosttest.Kernel
	hadDeadline bool
}

func (k *deadlineKernel) Ping(ctx context.Context, _ netip.Addr) (time.Duration, error) {
	_, k.hadDeadline = ctx.Deadline()
	return time.Millisecond, nil
}

func TestInterfaceNamesLive(t *testing.T) {
	k := &hosttest.Kernel{LinkList: []host.Link{{Name: "lo"}, {Name: "eth0"}, {Name: "br-mgmt.10"}}}
	expect(t, run(t, IDInterfaceNames, required, live(t, "debian-12", "", k)), want{preflight.Pass, "3 interfaces", ""})
	k.LinkList = append(k.LinkList, host.Link{Name: "влан10"}, host.Link{Name: "eth 1"})
	expect(t, run(t, IDInterfaceNames, required, live(t, "debian-12", "", k)), want{preflight.Fail, `"eth 1", "влан10"`, "[Link] Name="})
	k.Err, k.LinkList = errors.New("netlink: boom"), nil
	expect(t, run(t, IDInterfaceNames, required, live(t, "debian-12", "", k)), want{preflight.Error, "boom", ""})
	expect(t, run(t, IDInterfaceNames, required, scratch(t, map[string]string{"etc/hostname": "x\n"})), want{preflight.Skip, "no interface names", ""})
}

func TestHostname(t *testing.T) {
	tests := []struct {
		name string
		want want
	}{
		{"node01", want{preflight.Pass, "node01", ""}},
		{"node-01.dc1.example.com", want{preflight.Pass, "node-01", ""}},
		{"1node", want{preflight.Pass, "1node", ""}},
		{"", want{preflight.Fail, "hostname is not set", "hostnamectl"}},
		{"localhost", want{preflight.Fail, `"localhost"`, "hostnamectl"}},
		{"LOCALHOST.localdomain", want{preflight.Fail, "unique name", "hostnamectl"}},
		{"node_01", want{preflight.Fail, "character '_'", "hostnamectl"}},
		{"-node", want{preflight.Fail, "hyphen", "hostnamectl"}},
		{"node..lan", want{preflight.Fail, "empty label", "hostnamectl"}},
		{"узел", want{preflight.Fail, "not a valid DNS name", "hostnamectl"}},
		{strings.Repeat("a", 64), want{preflight.Fail, "longer than 63", "hostnamectl"}},
		{strings.Repeat("abcdefgh.", 30) + "x", want{preflight.Fail, "longer than 253", "hostnamectl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tree(t, "debian-12", "")
			h.Hostname = tt.name
			expect(t, run(t, IDHostname, required, h), tt.want)
		})
	}
}

func TestHostsEntryScratch(t *testing.T) {
	tests := []struct {
		name, hosts string
		want        want
	}{
		{"short name for fqdn host", "10.0.0.5 node1\n", want{preflight.Pass, "maps 10.0.0.5 to node1", ""}},
		{"fqdn for short form", "10.0.0.5 node1.example.com\n", want{preflight.Pass, "node1.example.com", ""}},
		{"other name", "10.0.0.5 other\n", want{preflight.Fail, "does not map 10.0.0.5 to node1.example.com", "10.0.0.5 node1.example.com node1"}},
		{"name on other address", "10.0.0.6 node1.example.com node1\n", want{preflight.Fail, "does not map", "echo"}},
		{"only 127.0.1.1", "127.0.0.1 localhost\n127.0.1.1 node1.example.com node1\n", want{preflight.Fail, "loopback line such as 127.0.1.1", "echo"}},
		{"nothing", "127.0.0.1 localhost\n", want{preflight.Fail, "no line for 10.0.0.5", "echo"}},
		{"garbage", "this is not a hosts file\n", want{preflight.Error, "line 1", ""}},
		{"binary", "\x00\x01\x02", want{preflight.Error, "not a text file", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := scratch(t, map[string]string{"etc/hostname": "node1.example.com\n", "etc/hosts": tt.hosts})
			h.Address = netip.MustParseAddr("10.0.0.5")
			r := run(t, IDHostsEntry, required, h)
			expect(t, r, tt.want)
			if (r.Status == preflight.Fail) != (r.Fix == "hosts") {
				t.Errorf("FixedBy = %q for a %s", r.Fix, r.Status)
			}
		})
	}
	h := scratch(t, map[string]string{"etc/hostname": "node1\n"})
	h.Address = netip.MustParseAddr("10.0.0.5")
	expect(t, run(t, IDHostsEntry, required, h), want{preflight.Fail, "/etc/hosts does not exist", "echo"})
	h.Address = netip.Addr{}
	expect(t, run(t, IDHostsEntry, required, h), want{preflight.Error, "no node address; pass --address", ""})
}

func TestResolvConfScratch(t *testing.T) {
	stub := "nameserver 127.0.0.53\noptions edns0 trust-ad\n"
	tests := []struct {
		name  string
		files map[string]string
		want  want
	}{
		{"plain", map[string]string{"etc/resolv.conf": "nameserver 10.0.0.2\n"}, want{preflight.Pass, "10.0.0.2", ""}},
		{"missing", map[string]string{"etc/hostname": "x"}, want{preflight.Fail, "does not exist", "nameserver"}},
		{"empty", map[string]string{"etc/resolv.conf": "# nothing\nsearch lan\n"}, want{preflight.Fail, "no nameserver", "nameserver"}},
		{"garbage", map[string]string{"etc/resolv.conf": "<html>oops</html>\n"}, want{preflight.Error, "unknown keyword", ""}},
		{"bad address", map[string]string{"etc/resolv.conf": "nameserver dns.example\n"}, want{preflight.Error, "not an IP address", ""}},
		{"stub, resolved.conf DNS", map[string]string{"etc/resolv.conf": stub, "etc/systemd/resolved.conf": "[Resolve]\nDNS=1.1.1.1\n"}, want{preflight.Pass, "DNS=1.1.1.1", ""}},
		{"stub, drop-in resets DNS", map[string]string{"etc/resolv.conf": stub, "etc/systemd/resolved.conf": "[Resolve]\nDNS=1.1.1.1\n", "etc/systemd/resolved.conf.d/zz.conf": "[Resolve]\nDNS=\n"}, want{preflight.Fail, "sets no DNS=", "systemctl restart systemd-resolved"}},
		{"stub, no resolved.conf", map[string]string{"etc/resolv.conf": stub}, want{preflight.Fail, "127.0.0.53", "[Resolve]"}},
		{"stub, garbage resolved.conf", map[string]string{"etc/resolv.conf": stub, "etc/systemd/resolved.conf": "DNS=1.1.1.1\n"}, want{preflight.Error, "resolved.conf: line 1", ""}},
		{"NM header, no NM conf", map[string]string{"etc/resolv.conf": "# Generated by NetworkManager\nnameserver 10.0.0.2\n"}, want{preflight.Warn, "Generated by NetworkManager", "add dns=none to [main]"}},
		{"NM conf default", map[string]string{"etc/resolv.conf": "nameserver 10.0.0.2\n", "etc/NetworkManager/NetworkManager.conf": "[main]\nplugins=keyfile\n"}, want{preflight.Warn, "without dns=none", "add dns=none to [main]"}},
		{"NM dns=none overridden by conf.d", map[string]string{"etc/resolv.conf": "nameserver 10.0.0.2\n", "etc/NetworkManager/NetworkManager.conf": "[main]\ndns=none\n", "etc/NetworkManager/conf.d/dns.conf": "[main]\ndns=default\n"}, want{preflight.Warn, "NetworkManager manages", "dns=none"}},
		{"NM dns=none", map[string]string{"etc/resolv.conf": "# Generated by NetworkManager\nnameserver 10.0.0.2\n", "etc/NetworkManager/NetworkManager.conf": "[main]\ndns=none\n"}, want{preflight.Pass, "10.0.0.2", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, IDResolvConf, required, scratch(t, tt.files))
			expect(t, r, tt.want)
			if (r.Status == preflight.Fail || r.Status == preflight.Warn) != (r.Fix == "resolver") {
				t.Errorf("FixedBy = %q for a %s", r.Fix, r.Status)
			}
		})
	}
}

func TestResolvConfDanglingStubLink(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../run/systemd/resolve/stub-resolv.conf", filepath.Join(dir, "etc/resolv.conf")); err != nil {
		t.Fatal(err)
	}
	h := hosttest.Rooted(t, dir)
	h.Files = host.RootFS(dir) // a view that can read links, as --root uses
	expect(t, run(t, IDResolvConf, required, h), want{preflight.Fail, "systemd-resolved stub", "DNS="})
	if err := os.WriteFile(filepath.Join(dir, "etc/systemd/resolved.conf"), []byte("[Resolve]\nDNS=9.9.9.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, run(t, IDResolvConf, required, h), want{preflight.Pass, "127.0.0.53", ""})
}

func TestInterfaceNamesIgnoreLabelsAndPatterns(t *testing.T) {
	h := scratch(t, map[string]string{
		// Connection labels and networkd globs are not interface names.
		"etc/NetworkManager/system-connections/Wired connection 1.nmconnection": "[connection]\nid=Wired connection 1\ntype=ethernet\n[ipv4]\nmethod=auto\n",
		"etc/sysconfig/network-scripts/ifcfg-eth0:1":                            "DEVICE=eth0:1\nNAME=\"System eth0:1\"\nIPADDR=10.0.0.9\n",
		"etc/systemd/network/50-en.network":                                     "[Match]\nName=en*\n[Network]\nDHCP=yes\n",
	})
	expect(t, run(t, IDInterfaceNames, required, h), want{preflight.Pass, "1 interfaces: eth0", ""})
}
