package domain

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestXMLGolden(t *testing.T) {
	for _, tc := range goldenSpecs {
		t.Run(tc.name, func(t *testing.T) {
			got, err := XML(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.name+".xml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./runtime/virt/domain -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("XML differs from %s (rerun with -update if intended):\n%s", path, got)
			}
			again, _ := XML(tc.spec)
			if !bytes.Equal(got, again) {
				t.Error("XML is not deterministic")
			}
		})
	}
}

// TestXMLShape checks the properties the golden files are meant to show,
// so that an -update cannot silently bless a regression.
func TestXMLShape(t *testing.T) {
	render := func(s Spec) string {
		t.Helper()
		b, err := XML(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	base := Spec{Name: "a", VCPUs: 1, MemoryMiB: 64}

	kvm := render(base)
	for _, want := range []string{`<domain type="kvm">`, `<cpu mode="host-model">`, `<memory unit="KiB">65536</memory>`,
		`<currentMemory unit="KiB">65536</currentMemory>`, `<vm xmlns="` + Namespace + `">`, `<memballoon model="virtio">`,
		`<serial type="pty">`, `<console type="pty">`, `<on_crash>destroy</on_crash>`} {
		if !strings.Contains(kvm, want) {
			t.Errorf("kvm domain lacks %s", want)
		}
	}
	if strings.Contains(kvm, "<graphics") {
		t.Error("no VNC asked for, but <graphics> rendered")
	}

	q := base
	q.Type = "qemu"
	if got := render(q); strings.Contains(got, "<cpu") || !strings.Contains(got, `<domain type="qemu">`) {
		t.Errorf("qemu domain: want type qemu and no <cpu>:\n%s", got)
	}

	v := base
	v.VNC = VNC{Listen: "127.0.0.1"}
	if got := render(v); !strings.Contains(got, `<graphics type="vnc" autoport="yes" listen="127.0.0.1">`) || strings.Contains(got, "passwd") {
		t.Errorf("vnc without password:\n%s", got)
	}

	d := base
	d.Disks = make([]Disk, 28)
	for i := range d.Disks {
		d.Disks[i] = Disk{Path: "/d", Format: "raw"}
	}
	got := render(d)
	for _, dev := range []string{"vda", "vdz", "vdaa", "vdab"} {
		if !strings.Contains(got, `<target dev="`+dev+`" bus="virtio">`) {
			t.Errorf("28 disks: no target %s", dev)
		}
	}
}

func TestXMLRefusesInvalid(t *testing.T) {
	_, err := XML(Spec{Name: "a/b", VCPUs: 1, MemoryMiB: 64})
	if err == nil || !strings.Contains(err.Error(), `name "a/b"`) {
		t.Fatalf("XML of an invalid spec: err = %v, want the name error", err)
	}
}

func TestDiskTarget(t *testing.T) {
	for i, want := range map[int]string{0: "vda", 1: "vdb", 25: "vdz", 26: "vdaa", 27: "vdab", 51: "vdaz", 52: "vdba", 701: "vdzz", 702: "vdaaa"} {
		if got := diskTarget(i); got != want {
			t.Errorf("diskTarget(%d) = %s, want %s", i, got, want)
		}
		if back, ok := diskIndex(want); !ok || back != i {
			t.Errorf("diskIndex(%s) = %d, %v, want %d", want, back, ok, i)
		}
	}
	for _, bad := range []string{"", "vd", "sda", "vdA", "hdc", "vd1"} {
		if _, ok := diskIndex(bad); ok {
			t.Errorf("diskIndex(%q) ok, want not a virtio disk name", bad)
		}
	}
}
