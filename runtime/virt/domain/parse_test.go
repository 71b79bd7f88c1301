package domain

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestRoundTrip: what XML writes, Parse reads back unchanged.
func TestRoundTrip(t *testing.T) {
	for _, tc := range goldenSpecs {
		t.Run(tc.name, func(t *testing.T) {
			b, err := XML(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.spec
			if want.Type == "" {
				want.Type = "kvm"
			}
			if !reflect.DeepEqual(p.Spec, want) {
				t.Errorf("Parse(XML(s)).Spec =\n  %+v\nwant\n  %+v", p.Spec, want)
			}
			if p.UUID != "" || p.VNCPort != 0 {
				t.Errorf("UUID %q, VNCPort %d: want none before libvirt assigns them", p.UUID, p.VNCPort)
			}
		})
	}
}

// The fixtures under testdata/libvirt are libvirt 9.0's own output:
// qemu-live.xml from a running TCG domain (qemu:///system), and
// test-setmetadata.xml from the test driver after virsh metadata --key
// vmnode --set, which rewrites vmnode's element with a prefix.
func TestParseLibvirtFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Parsed
	}{
		{"qemu-live.xml", Parsed{
			UUID:    "e99c3816-514b-42a6-af0b-35f82c8bffee",
			VNCPort: 5900,
			Spec: Spec{
				Name: "vmnode-scratch-xmltest", Type: "qemu", VCPUs: 1, MemoryMiB: 64,
				VNC:  VNC{Listen: "127.0.0.1"},
				Meta: Meta{Owner: "h1", Epoch: 3, HA: HA{Enabled: true, Passive: "h2"}},
			},
		}},
		{"test-setmetadata.xml", Parsed{
			UUID: "43d514ac-f0eb-4dfe-9c06-f3dfcebcba87",
			Spec: Spec{
				Name: "vmnode-scratch-xmltest", Type: "qemu", VCPUs: 1, MemoryMiB: 64,
				VNC: VNC{Listen: "127.0.0.1"},
				Meta: Meta{Owner: "node9", Epoch: 4, HA: HA{Enabled: true},
					Created: time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)},
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "libvirt", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse =\n  %+v\nwant\n  %+v", got, tc.want)
			}
		})
	}
}

const minimal = `<domain type='kvm'><name>x</name><memory>65536</memory><vcpu>1</vcpu>%s</domain>`

func parseWith(t *testing.T, inner string) (Parsed, error) {
	t.Helper()
	return Parse([]byte(strings.Replace(minimal, "%s", inner, 1)))
}

func TestParseNoMetadata(t *testing.T) {
	p, err := parseWith(t, `<metadata><app:x xmlns:app="http://example.org/app"><owner>someone</owner></app:x></metadata>`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Spec.Meta, Meta{}) {
		t.Errorf("Meta = %+v, want zero for a domain without vmnode metadata", p.Spec.Meta)
	}
	if p.Spec.MemoryMiB != 64 || p.Spec.VCPUs != 1 || p.Spec.Name != "x" {
		t.Errorf("Spec = %+v", p.Spec)
	}
}

func TestParseMemoryUnits(t *testing.T) {
	tests := []struct {
		mem  string
		want int
	}{
		{`<memory>65536</memory>`, 64},
		{`<memory unit='KiB'>65536</memory>`, 64},
		{`<memory unit='k'>65537</memory>`, 64},
		{`<memory unit='MiB'>512</memory>`, 512},
		{`<memory unit='M'> 512 </memory>`, 512},
		{`<memory unit='G'>2</memory>`, 2048},
		{`<memory unit='GiB'>2</memory>`, 2048},
		{`<memory unit='GB'>1</memory>`, 953},
		{`<memory unit='bytes'>1048576</memory>`, 1},
		{`<memory unit='b'>1048575</memory>`, 0},
		{`<memory unit='TiB'>1</memory>`, 1 << 20},
	}
	for _, tc := range tests {
		b := strings.Replace(minimal, "<memory>65536</memory>", tc.mem, 1)
		p, err := Parse([]byte(strings.Replace(b, "%s", "", 1)))
		if err != nil {
			t.Errorf("%s: %v", tc.mem, err)
			continue
		}
		if p.Spec.MemoryMiB != tc.want {
			t.Errorf("%s: %d MiB, want %d", tc.mem, p.Spec.MemoryMiB, tc.want)
		}
	}
}

func TestParseDevices(t *testing.T) {
	p, err := parseWith(t, `<devices>
  <disk type='file' device='cdrom'><source file='/s.iso'/><target dev='hdc' bus='ide'/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/b.raw'/><target dev='vdb' bus='virtio'/></disk>
  <disk type='network' device='disk'><source protocol='nbd' name='x'/><target dev='vdc' bus='virtio'/></disk>
  <disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/sdz'/><target dev='sda' bus='scsi'/></disk>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
  <interface type='user'><model type='virtio'/></interface>
  <interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='br0'/><model type='e1000'/></interface>
  <interface type='hostdev' managed='yes'><source><address type='pci' domain='0' bus='3' slot='0x1F' function='07'/></source></interface>
  <graphics type='spice' port='5901'/>
  <graphics type='vnc' port='-1' autoport='yes'><listen type='address' address='::1'/></graphics>
</devices>`)
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		Name: "x", Type: "kvm", VCPUs: 1, MemoryMiB: 64,
		Disks: []Disk{{Path: "/a.qcow2", Format: "qcow2"}, {Path: "/b.raw", Format: "raw"}, {Path: "/dev/sdz", Format: "raw"}},
		Seed:  "/s.iso",
		NICs: []NIC{
			{Model: "e1000", Bridge: "br0", MAC: "52:54:00:00:00:02"},
			{Model: "sriov", VF: "0000:03:1f.7"},
		},
		VNC: VNC{Listen: "::1"},
	}
	if !reflect.DeepEqual(p.Spec, want) {
		t.Errorf("Spec =\n  %+v\nwant\n  %+v", p.Spec, want)
	}
	if p.VNCPort != 0 {
		t.Errorf("VNCPort = %d, want 0 for port -1 (not yet assigned)", p.VNCPort)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "parse domain XML: EOF"},
		{"not xml", "hello", "parse domain XML"},
		{"other root", "<network><name>x</name></network>", "expected element type <domain>"},
		{"truncated", "<domain><name>x</name><memory>", "parse domain XML"},
		{"no type", "<domain><name>x</name><memory>1</memory><vcpu>1</vcpu></domain>", "no type attribute"},
		{"no name", "<domain><memory>1</memory><vcpu>1</vcpu></domain>", "no <name>"},
		{"vcpu", strings.Replace(minimal, "<vcpu>1", "<vcpu>one", 1), `vcpu "one": not a number`},
		{"memory", strings.Replace(minimal, "65536", "-1", 1), `memory: "-1": not a number`},
		{"memory unit", strings.Replace(minimal, "<memory>", "<memory unit='parsec'>", 1), `unit "parsec": not a libvirt memory unit`},
		{"memory unit ki", strings.Replace(minimal, "<memory>", "<memory unit='KX'>", 1), `unit "KX": not a libvirt memory unit`},
		{"memory overflow", strings.Replace(minimal, "<memory>65536", "<memory unit='EiB'>65536", 1), "too large"},
		{"epoch", strings.Replace(minimal, "%s", `<metadata><vm xmlns="`+Namespace+`"><epoch>x</epoch></vm></metadata>`, 1), "parse domain XML"},
		{"created", strings.Replace(minimal, "%s", `<metadata><vm xmlns="`+Namespace+`"><created>yesterday</created></vm></metadata>`, 1),
			`vmnode metadata: created "yesterday": want an RFC 3339 time`},
		{"vnc port", strings.Replace(minimal, "%s", `<devices><graphics type='vnc' port='x'/></devices>`, 1), `vnc port "x": not a number`},
		{"hostdev no address", strings.Replace(minimal, "%s", `<devices><interface type='hostdev'><source/></interface></devices>`, 1),
			"interface 0: hostdev without a PCI address"},
		{"hostdev slot", strings.Replace(minimal, "%s", `<devices><interface type='hostdev'><source><address type='pci' domain='0' bus='0' slot='0x20' function='0'/></source></interface></devices>`, 1),
			`PCI address slot "0x20": want a number up to 0x1f`},
		{"hostdev usb", strings.Replace(minimal, "%s", `<devices><interface type='hostdev'><source><address type='usb' bus='1'/></source></interface></devices>`, 1),
			`address type "usb": want pci`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(tc.in, "%s", "", 1)
			_, err := Parse([]byte(in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q): err = %v, want it to contain %q", in, err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/*.xml", "testdata/libvirt/*.xml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(strings.Replace(minimal, "%s", "", 1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil || Validate(p.Spec) != nil {
			return
		}
		// A valid Spec read from any XML survives a render and a re-parse.
		out, err := XML(p.Spec)
		if err != nil {
			t.Fatalf("XML of a valid spec: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(XML(spec)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(again.Spec, p.Spec) {
			t.Fatalf("round trip changed the spec:\n  %+v\n  %+v", p.Spec, again.Spec)
		}
	})
}
