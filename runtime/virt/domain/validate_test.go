package domain

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Spec{Name: "vm-1", VCPUs: 1, MemoryMiB: 64}
	with := func(f func(s *Spec)) Spec {
		s := ok
		f(&s)
		return s
	}
	nic := func(n ...NIC) Spec { return with(func(s *Spec) { s.NICs = n }) }
	tests := []struct {
		name string
		spec Spec
		want []string // substrings of the error; none: valid
	}{
		{"minimal", ok, nil},
		{"all golden", goldenSpecs[2].spec, nil},
		{"name 63", with(func(s *Spec) { s.Name = strings.Repeat("a", 63) }), nil},
		{"name dots", with(func(s *Spec) { s.Name = "web.lab_1-a" }), nil},
		{"name empty", with(func(s *Spec) { s.Name = "" }), []string{"name: must not be empty"}},
		{"name 64", with(func(s *Spec) { s.Name = strings.Repeat("a", 64) }), []string{`name "aaaa`, "1-63 characters"}},
		{"name slash", with(func(s *Spec) { s.Name = "a/b" }), []string{`name "a/b": must be`}},
		{"name dotdot", with(func(s *Spec) { s.Name = ".." }), []string{`name "..": must be`}},
		{"name leading dash", with(func(s *Spec) { s.Name = "-a" }), []string{`name "-a"`}},
		{"name space", with(func(s *Spec) { s.Name = "a b" }), []string{`name "a b"`}},
		{"type", with(func(s *Spec) { s.Type = "xen" }), []string{`type "xen": want kvm or qemu`}},
		{"vcpus", with(func(s *Spec) { s.VCPUs = 0 }), []string{"vcpus 0: want at least 1"}},
		{"memory", with(func(s *Spec) { s.MemoryMiB = 15 }), []string{"memory 15 MiB: want at least 16 MiB"}},
		{"memory huge", with(func(s *Spec) { s.MemoryMiB = 1 << 62 }), []string{"memory 4611686018427387904 MiB: too large"}},
		{"disk format", with(func(s *Spec) { s.Disks = []Disk{{Path: "/a", Format: "qcow2"}, {Path: "/b", Format: "vmdk"}} }),
			[]string{`disk 1: format "vmdk": want qcow2 or raw`}},
		{"disk relative", with(func(s *Spec) { s.Disks = []Disk{{Path: "disk0.qcow2", Format: "qcow2"}} }),
			[]string{`disk 0: path "disk0.qcow2": want an absolute path`}},
		{"disk control", with(func(s *Spec) { s.Disks = []Disk{{Path: "/a\x01", Format: "raw"}} }),
			[]string{`disk 0: path "/a\x01": contains control characters`}},
		{"seed relative", with(func(s *Spec) { s.Seed = "seed.iso" }), []string{`seed "seed.iso": want an absolute path`}},
		{"seed invalid utf8", with(func(s *Spec) { s.Seed = "/s\xff" }), []string{`seed "/s\xff": contains control characters or invalid UTF-8`}},
		{"nic model", nic(NIC{Model: "virtio", Network: "n"}, NIC{Model: "e1000", Bridge: "b"}, NIC{Model: "foo", Network: "n"}),
			[]string{`nic 2: model "foo": want virtio, e1000, rtl8139 or sriov`}},
		{"nic model empty", nic(NIC{Network: "n"}), []string{`nic 0: model "": want virtio`}},
		{"nic neither", nic(NIC{Model: "virtio"}), []string{"nic 0: want exactly one of network and bridge, got neither"}},
		{"nic both", nic(NIC{Model: "rtl8139", Network: "n", Bridge: "b"}), []string{`nic 0: want exactly one of network and bridge, got both ("n", "b")`}},
		{"nic bridge long", nic(NIC{Model: "virtio", Bridge: "bridge-too-long0"}), []string{`nic 0: bridge "bridge-too-long0": an interface name has at most 15`}},
		{"nic bridge colon", nic(NIC{Model: "virtio", Bridge: "br:0"}), []string{`nic 0: bridge "br:0": not a valid interface name`}},
		{"nic network slash", nic(NIC{Model: "virtio", Network: "a/b"}), []string{`nic 0: network "a/b": not a valid libvirt network name`}},
		{"nic vf on virtio", nic(NIC{Model: "virtio", Network: "n", VF: "0000:03:10.1"}), []string{`nic 0: vf "0000:03:10.1": only a sriov nic takes a vf`}},
		{"sriov ok", nic(NIC{Model: "sriov", VF: "0000:03:1F.7"}), nil},
		{"sriov no vf", nic(NIC{Model: "sriov"}), []string{`nic 0: vf "": sriov needs the PCI address of a virtual function, DDDD:BB:SS.F`}},
		{"sriov bad vf", nic(NIC{Model: "sriov", VF: "03:10.1"}), []string{`nic 0: vf "03:10.1": sriov needs`}},
		{"sriov slot range", nic(NIC{Model: "sriov", VF: "0000:03:20.1"}), []string{`nic 0: vf "0000:03:20.1": sriov needs`}},
		{"sriov function range", nic(NIC{Model: "sriov", VF: "0000:03:10.8"}), []string{`nic 0: vf "0000:03:10.8"`}},
		{"sriov with network", nic(NIC{Model: "sriov", VF: "0000:03:10.1", Network: "n"}), []string{"nic 0: sriov takes vf, not network or bridge"}},
		{"sriov dup vf", nic(NIC{Model: "sriov", VF: "0000:03:10.1"}, NIC{Model: "sriov", VF: "0000:03:10.1"}),
			[]string{`nic 1: vf "0000:03:10.1": also used by nic 0`}},
		{"mac syntax", nic(NIC{Model: "virtio", Network: "n", MAC: "52-54-00-12-34-56"}), []string{`nic 0: mac "52-54-00-12-34-56": want six hex pairs`}},
		{"mac short", nic(NIC{Model: "virtio", Network: "n", MAC: "52:54:00:12:34"}), []string{`nic 0: mac "52:54:00:12:34": want six hex pairs`}},
		{"mac multicast", nic(NIC{Model: "virtio", Network: "n", MAC: "01:00:5e:00:00:01"}), []string{`nic 0: mac "01:00:5e:00:00:01": is a multicast address`}},
		{"mac dup", nic(NIC{Model: "virtio", Network: "n", MAC: "52:54:00:00:00:01"}, NIC{Model: "e1000", Bridge: "b", MAC: "52:54:00:00:00:01"}),
			[]string{`nic 1: mac "52:54:00:00:00:01": also used by nic 0`}},
		{"vnc listen", with(func(s *Spec) { s.VNC.Listen = "localhost" }), []string{`vnc: listen "localhost": want an IP address`}},
		{"vnc password long", with(func(s *Spec) { s.VNC = VNC{Listen: "::1", Password: "123456789"} }), []string{"vnc: password is 9 bytes: VNC allows at most 8"}},
		{"vnc password control", with(func(s *Spec) { s.VNC = VNC{Listen: "::1", Password: "a\nb"} }), []string{"vnc: password contains control characters"}},
		{"vnc password no listen", with(func(s *Spec) { s.VNC.Password = "x" }), []string{"vnc: password set but no listen address"}},
		{"meta owner", with(func(s *Spec) { s.Meta.Owner = "a\x00" }), []string{`meta owner "a\x00": contains control characters`}},
		{"meta image", with(func(s *Spec) { s.Meta.Image = "\x1b[31m" }), []string{`meta image "\x1b[31m": contains control`}},
		{"ha passive", with(func(s *Spec) { s.Meta.HA.Passive = "\t" }), []string{`ha passive "\t": contains control`}},
		{"meta created", with(func(s *Spec) { s.Meta.Created = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), []string{"meta created: year 10000 out of range"}},
		{"ha sriov", with(func(s *Spec) {
			s.NICs = []NIC{{Model: "sriov", VF: "0000:03:10.1"}}
			s.Meta.HA.Enabled = true
		}), []string{"ha: cannot be enabled: it has an SR-IOV interface"}},
		{"several at once", Spec{Name: "", VCPUs: 0, MemoryMiB: 0}, []string{"name: must not be empty", "vcpus 0", "memory 0 MiB"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.spec)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v, want valid", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error\n  %v\nwant it to contain\n  %s", err, w)
				}
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for _, n := range []string{"a", "A9", "0", "web-1.lab_x"} {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q): %v", n, err)
		}
	}
	for _, n := range []string{"", "_a", ".a", "a/b", "a:b", "ä", strings.Repeat("x", 64)} {
		if err := ValidName(n); err == nil {
			t.Errorf("ValidName(%q): nil, want error", n)
		}
	}
}
