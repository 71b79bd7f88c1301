package netconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight/host/hosttest"
)

// show renders Ifaces compactly for comparison: "name method [addrs] gw".
func show(l ...Iface) string {
	var s []string
	for _, i := range l {
		gw := ""
		if i.Gateway.IsValid() {
			gw = " via " + i.Gateway.String()
		}
		s = append(s, fmt.Sprintf("%s %s %s%s", i.Name, i.Method, fmtAddrs(i.Addrs), gw))
	}
	return strings.Join(s, "; ")
}

// fixture reads a file from a fixture tree, so the tables cover real files.
func fixture(t testing.TB, tree, p string) string {
	b, err := os.ReadFile(filepath.Join(hosttest.TreeDir(tree), p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type parseCase struct {
	name, in, want, err string // err: substring of the expected error; "" for success
}

func ifcfgCases(t testing.TB) []parseCase {
	return []parseCase{
		{"alma static", fixture(t, "almalinux-8.9", "etc/sysconfig/network-scripts/ifcfg-eno1"), "eno1 static [172.16.10.21/24] via 172.16.10.1", ""},
		{"centos dhcp quoted", fixture(t, "centos-7", "etc/sysconfig/network-scripts/ifcfg-eth0"), "eth0 dhcp []", ""},
		{"loopback", fixture(t, "centos-7", "etc/sysconfig/network-scripts/ifcfg-lo"), "lo loopback [127.0.0.1/8]", ""},
		{"netmask", "DEVICE=em1\nBOOTPROTO=static\nIPADDR=10.1.1.5\nNETMASK=255.255.0.0\n", "em1 static [10.1.1.5/16]", ""},
		{"numbered", "DEVICE=br0\nBOOTPROTO=none\nIPADDR0=10.0.0.2\nPREFIX0=24\nIPADDR1=10.0.1.2\nNETMASK1=255.255.255.128\nGATEWAY0=10.0.0.1\n", "br0 static [10.0.0.2/24 10.0.1.2/25] via 10.0.0.1", ""},
		{"classful default", "DEVICE=eth0\nIPADDR=192.168.3.4\n", "eth0 static [192.168.3.4/24]", ""},
		{"ipv6", "DEVICE=eth0\nBOOTPROTO=dhcp\nIPV6ADDR=2001:db8::2/64\n", "eth0 dhcp [2001:db8::2/64]", ""},
		{"bond slave", "DEVICE=eno3\nBOOTPROTO=none\nMASTER=bond0\nSLAVE=yes\n", "eno3 manual-none []", ""},
		{"NAME is not a device, comments", "# comment\nNAME='System eth9' # trailing\nBOOTPROTO=bootp\n", " dhcp []", ""},
		{"other method kept", "DEVICE=ib0\nBOOTPROTO=ibft\n", "ib0 ibft []", ""},
		{"bad address", "DEVICE=eth0\nIPADDR=10.0.0.300\n", "", "IPADDR"},
		{"bad netmask", "DEVICE=eth0\nIPADDR=10.0.0.3\nNETMASK=255.0.255.0\n", "", "not contiguous"},
		{"bad prefix", "DEVICE=eth0\nIPADDR=10.0.0.3\nPREFIX=33\n", "", "out of range"},
		{"command", "DEVICE=eth0\nrm -rf /\n", "", "line 2"},
		{"unterminated", "DEVICE=\"eth0\n", "", "unterminated"},
		{"binary", "\xff\xfe\x00garbage", "", "not a text file"},
	}
}

func TestParseIfcfg(t *testing.T) {
	for _, tt := range ifcfgCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseIfcfg([]byte(tt.in))
			checkParse(t, show(got), err, tt)
		})
	}
}

func checkParse(t *testing.T, got string, err error, tt parseCase) {
	t.Helper()
	if tt.err != "" {
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Fatalf("error = %v, want one containing %q (got %s)", err, tt.err, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("error: %v", err)
	}
	if got != tt.want {
		t.Errorf("got  %s\nwant %s", got, tt.want)
	}
}

func keyfileCases(t testing.TB) []parseCase {
	return []parseCase{
		{"alma vlan", fixture(t, "almalinux-8.9", "etc/NetworkManager/system-connections/storage.nmconnection"), "eno1.20 static [10.20.0.21/24]", ""},
		{"manual with gw", "[connection]\nid=Wired connection 1\ntype=ethernet\ninterface-name=enp3s0\n\n[ipv4]\naddress1=192.168.1.10/24,192.168.1.1\naddress2=192.168.2.10\nmethod=manual\n",
			"enp3s0 static [192.168.1.10/24 192.168.2.10/24] via 192.168.1.1", ""},
		{"gateway key, legacy addresses", "[connection]\nid=eth0\ntype=802-3-ethernet\n[ipv4]\naddresses1=10.0.0.5/8;10.0.0.6/8;\ngateway=10.0.0.1\nmethod=manual\n[ipv6]\naddress1=2001:db8::9/64\nmethod=manual\n",
			" static [10.0.0.5/8 10.0.0.6/8 2001:db8::9/64] via 10.0.0.1", ""},
		{"auto", "[connection]\nid=uplink\ntype=ethernet\ninterface-name=eth1\n[ipv4]\nmethod=auto\n", "eth1 dhcp []", ""},
		{"no ipv4 section means auto", "[connection]\nid=Wired connection 1\ntype=ethernet\n", " dhcp []", ""},
		{"bond port", "[connection]\nid=bond0-port1\ntype=ethernet\ninterface-name=eno1\nmaster=bond0\nslave-type=bond\n", "eno1 manual-none []", ""},
		{"disabled", "[connection]\nid=x\ntype=ethernet\n[ipv4]\nmethod=disabled\n", " manual-none []", ""},
		{"loopback", "[connection]\nid=lo\ntype=loopback\ninterface-name=lo\n[ipv4]\naddress1=127.0.0.1/8\nmethod=manual\n", "lo loopback [127.0.0.1/8]", ""},
		{"bad address", "[connection]\nid=x\n[ipv4]\naddress1=10.0.0.999/24\nmethod=manual\n", "", "line 4"},
		{"not a keyfile", "[main]\nplugins=keyfile\n", "", "not a NetworkManager keyfile"},
		{"garbage line", "[connection]\nid=x\nthis is not a key\n", "", "line 3"},
		{"key before section", "id=x\n", "", "outside a [section]"},
		{"binary", "\x00\x00\x00", "", "not a text file"},
	}
}

func TestParseKeyfile(t *testing.T) {
	for _, tt := range keyfileCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseKeyfile([]byte(tt.in))
			checkParse(t, show(got), err, tt)
		})
	}
}

func netplanCases(t testing.TB) []parseCase {
	return []parseCase{
		{"ubuntu 20.04 installer", fixture(t, "ubuntu-20.04", "etc/netplan/00-installer-config.yaml"), "ens3 static [10.30.0.12/24] via 10.30.0.1", ""},
		{"cloud-init dhcp", "# generated by cloud-init\nnetwork:\n    ethernets:\n        enp1s0:\n            dhcp4: true\n            match:\n                macaddress: 52:54:00:12:34:56\n            set-name: enp1s0\n    version: 2\n", "enp1s0 dhcp []", ""},
		{"bond vlan bridge with routes", `network:
  version: 2
  renderer: networkd
  ethernets:
    eno1: {}
    eno2: {dhcp4: no}
  bonds:
    bond0:
      interfaces: [eno1, eno2]
      parameters: {mode: 802.3ad}
  vlans:
    vlan10:
      id: 10
      link: bond0
      addresses:
        - 10.10.0.5/24
        - "2001:db8:10::5/64":
            lifetime: 0
      routes:
        - to: default
          via: 10.10.0.1
  bridges:
    br0:
      interfaces: [vlan10]
      dhcp4: yes
`, "eno1 manual-none []; eno2 manual-none []; bond0 manual-none []; vlan10 static [10.10.0.5/24 2001:db8:10::5/64] via 10.10.0.1; br0 dhcp []", ""},
		{"match name", "network:\n  ethernets:\n    lan:\n      match: {name: en*}\n      dhcp4: true\n", "en* dhcp []", ""},
		{"empty file", "# nothing here\n", "", ""},
		{"no network key", "foo: bar\n", "", "no network: section"},
		{"bad yaml", "network:\n  ethernets: [\n", "", "yaml"},
		{"bad dhcp4", "network:\n  ethernets:\n    e:\n      dhcp4: sometimes\n", "", "yaml"},
		{"bad address", "network:\n  ethernets:\n    e:\n      addresses: [10.0.0/24]\n", "", "address"},
		{"bad gateway", "network:\n  ethernets:\n    e:\n      gateway4: gw\n", "", "gateway4"},
		{"binary", "\xff\xfe", "", "not a text file"},
	}
}

func TestParseNetplan(t *testing.T) {
	for _, tt := range netplanCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNetplan([]byte(tt.in))
			checkParse(t, show(got...), err, tt)
		})
	}
}

func interfacesCases(t testing.TB) []parseCase {
	return []parseCase{
		{"debian 12", fixture(t, "debian-12", "etc/network/interfaces"), "lo loopback []; enp1s0 static [192.168.50.7/24] via 192.168.50.1 | source /etc/network/interfaces.d/*", ""},
		{"sourced dhcp", fixture(t, "debian-12", "etc/network/interfaces.d/enp2s0"), "enp2s0 dhcp []; enp2s0 dhcp []", ""},
		{"cidr, prefix netmask, continuation", "auto eth0\niface eth0 inet static\n    address 10.5.0.2/16\n    up ip route add 10.6.0.0/16 \\\n        via 10.5.0.1\niface eth1 inet static\n address 172.20.1.1\n netmask 20\n", "eth0 static [10.5.0.2/16]; eth1 static [172.20.1.1/20]", ""},
		{"inet6 static, manual, mapping", "mapping eth0\n  script /usr/local/sbin/map\n  map home eth0-home\niface eth0-home inet manual\niface eth0 inet6 static\n  address 2001:db8::7/64\n  gateway 2001:db8::1\nsource-directory /etc/network/interfaces.d\n", "eth0-home manual-none []; eth0 static [2001:db8::7/64] | dir /etc/network/interfaces.d", ""},
		{"static without address", "iface eth0 inet static\n", "eth0 manual-none []", ""},
		{"option outside stanza", "address 10.0.0.1\n", "", "outside an iface stanza"},
		{"short iface", "iface eth0 inet\n", "", "line 1"},
		{"bad family", "iface eth0 ipv4 static\n", "", "unknown address family"},
		{"bad address", "iface eth0 inet static\n address 10.0.0.256\n", "", "line 2"},
		{"bad netmask", "iface eth0 inet static\n address 10.0.0.2\n netmask 255.255.0.255\n", "", "not contiguous"},
		{"binary", "\x00", "", "not a text file"},
	}
}

func TestParseInterfaces(t *testing.T) {
	for _, tt := range interfacesCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, incs, err := parseInterfaces([]byte(tt.in))
			s := show(got...)
			for _, inc := range incs {
				s += map[bool]string{true: " | dir ", false: " | source "}[inc.Dir] + inc.Pattern
			}
			checkParse(t, s, err, tt)
		})
	}
}

func networkdCases(t testing.TB) []parseCase {
	return []parseCase{
		{"arm static", fixture(t, "ubuntu-22.04-arm64", "etc/systemd/network/10-eth0.network"), "eth0 static [10.40.0.15/24] via 10.40.0.1", ""},
		{"arm dhcp globs", fixture(t, "ubuntu-22.04-arm64", "etc/systemd/network/20-wireless.network"), "wlan* dhcp []; wlx* dhcp []", ""},
		{"address sections and route", "[Match]\nName=enp5s0\n\n[Network]\nDHCP=ipv6\n\n[Address]\nAddress=10.7.0.4/24\n\n[Address]\nAddress=10.7.1.4\n\n[Route]\nDestination=10.8.0.0/16\nGateway=10.7.0.254\n\n[Route]\nGateway=10.7.0.1\n", "enp5s0 static [10.7.0.4/24 10.7.1.4/32] via 10.7.0.1", ""},
		{"match by mac", "[Match]\nMACAddress=52:54:00:aa:bb:cc\n[Network]\nDHCP=yes\nGateway=_dhcp4\n", " dhcp []", ""},
		{"empty Name resets", "[Match]\nName=eth0\nName=\nName=eth1\n[Network]\nAddress=10.0.0.1/8\n", "eth1 static [10.0.0.1/8]", ""},
		{"bad DHCP", "[Network]\nDHCP=perhaps\n", "", "DHCP="},
		{"bad address", "[Network]\nAddress=10.0.0.1/40\n", "", "line 2"},
		{"bad gateway", "[Network]\nGateway=router\n", "", "Gateway="},
		{"garbage", "this is not an ini file\n", "", "line 1"},
		{"bad header", "[Match\n", "", "malformed section"},
		{"binary", "[Match]\x00", "", "not a text file"},
	}
}

func TestParseNetworkd(t *testing.T) {
	for _, tt := range networkdCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNetworkd([]byte(tt.in))
			checkParse(t, show(got...), err, tt)
		})
	}
}

func TestParseINIContinuationAndComments(t *testing.T) {
	secs, err := ParseINI([]byte("; c\n[A]\nk = v1 \\\n  v2\n# c\nk=v3\n[B]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) != 2 || secs[0].Name != "A" || secs[1].Name != "B" {
		t.Fatalf("sections = %+v", secs)
	}
	if v, ok := secs[0].Get("k"); !ok || v != "v3" {
		t.Errorf("Get(k) = %q, %v; want the last value v3", v, ok)
	}
	if secs[0].Keys[0].Value != "v1  v2" || secs[0].Keys[0].Line != 3 {
		t.Errorf("continued key = %+v", secs[0].Keys[0])
	}
}

func seed(f *testing.F, cases []parseCase) {
	for _, c := range cases {
		f.Add([]byte(c.in))
	}
}

func FuzzParseIfcfg(f *testing.F) {
	seed(f, ifcfgCases(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		ifc, err := parseIfcfg(b)
		if err == nil && ifc.Method == "" {
			t.Errorf("no method for %q", b)
		}
	})
}

func FuzzParseKeyfile(f *testing.F) {
	seed(f, keyfileCases(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		ifc, err := parseKeyfile(b)
		if err == nil && ifc.Method == "" {
			t.Errorf("no method for %q", b)
		}
	})
}

func FuzzParseNetplan(f *testing.F) {
	seed(f, netplanCases(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseNetplan(b)
		if err != nil && l != nil {
			t.Errorf("error %v with result %v", err, l)
		}
	})
}

func FuzzParseInterfaces(f *testing.F) {
	seed(f, interfacesCases(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, _, err := parseInterfaces(b)
		for _, i := range l {
			if err == nil && (i.Name == "" || i.Method == "") {
				t.Errorf("empty name or method in %+v", i)
			}
		}
	})
}

func FuzzParseNetworkd(f *testing.F) {
	seed(f, networkdCases(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseNetworkd(b)
		if err == nil && len(l) == 0 {
			t.Errorf("no Iface and no error for %q", b)
		}
	})
}
