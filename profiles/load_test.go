package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltinsLoadAndRoundTrip(t *testing.T) {
	infos, err := List(Options{LocalDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 {
		t.Fatalf("want 3 built-in profiles, got %v", infos)
	}
	for _, info := range infos {
		p, err := Load(info.Name, Options{LocalDir: t.TempDir(), KnownChecks: []string{"cpu.virtualization", "cpu.kvm-device"}})
		if err != nil {
			t.Fatalf("%s: %v", info.Name, err)
		}
		out, err := Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse("roundtrip", out, Options{})
		if err != nil {
			t.Fatalf("%s: shown profile does not load back: %v\n%s", info.Name, err, out)
		}
		if again.Memory != p.Memory || again.CPU.Frequency != p.CPU.Frequency || len(again.Firewall.Ports) != len(p.Firewall.Ports) {
			t.Errorf("%s: round trip changed the profile:\n%s", info.Name, out)
		}
	}
}

func TestKVMProfileMatchesSeed(t *testing.T) {
	p, err := Load("vmmanager-kvm", Options{LocalDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if p.CPU.Cores != (Range[int]{4, 8}) || p.CPU.Frequency != (Range[MHz]{2400, 3000}) {
		t.Errorf("cpu = %+v", p.CPU)
	}
	if p.Memory != (Range[Bytes]{8 << 30, 16 << 30}) || p.Disk.Root != (Range[Bytes]{1e12, 2e12}) {
		t.Errorf("memory %+v disk %+v", p.Memory, p.Disk)
	}
	var ports []string
	for _, port := range p.Firewall.Ports {
		ports = append(ports, port.String())
	}
	want := "22/tcp 179/tcp 4789/udp 5900-6900/tcp 16514/tcp 49152-49215/tcp"
	if got := strings.Join(ports, " "); got != want {
		t.Errorf("ports = %s, want %s", got, want)
	}
	if !p.OS.Supported[0].Matches("almalinux", "8.9") || p.OS.Supported[0].Matches("almalinux", "8.10") || p.OS.Supported[0].Matches("almalinux", "9.2") {
		t.Error("release matching is wrong")
	}
}

func TestBadProfilesNameFileLineKey(t *testing.T) {
	known := []string{"cpu.arch"}
	cases := []struct{ name, doc, want string }{
		{"unknown key", "name: x\nos:\n  supported: [{id: debian}]\ncpu:\n  corez: 4\n", `bad.yaml:5: key "cpu.corez": unknown key "corez"`},
		{"wrong type", "name: x\nos:\n  supported: [{id: debian}]\ncpu:\n  cores:\n    min: four\n", `bad.yaml:6: key "cpu.cores.min": cannot unmarshal`},
		{"bad size", "name: x\nos:\n  supported: [{id: debian}]\nmemory: {min: 8 gigs}\n", `bad.yaml:4: key "memory.min": invalid size "8 gigs"`},
		{"unknown check", "name: x\nos:\n  supported: [{id: debian}]\nchecks:\n  disable:\n    - cpu.arch\n    - cpu.warp\n", `bad.yaml:7: key "checks.disable.1": unknown check ID "cpu.warp"`},
		{"bad proto", "name: x\nos:\n  supported: [{id: debian}]\nfirewall:\n  ports:\n    - {port: 22, proto: sctp}\n", `bad.yaml:6: key "firewall.ports.0.proto": proto "sctp"`},
		{"syntax", "name: x\n  bad: [\n", `bad.yaml:2:`},
		{"empty", "\n", `bad.yaml: file is empty`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(c.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, Options{KnownChecks: known})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestLocalProfileShadowsBuiltin(t *testing.T) {
	dir := t.TempDir()
	doc := "name: vmnode\ndescription: site\nos:\n  supported: [{id: debian, versions: ['12']}]\n"
	if err := os.WriteFile(filepath.Join(dir, "vmnode.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load("vmnode", Options{LocalDir: dir})
	if err != nil || p.Description != "site" {
		t.Fatalf("got %+v, %v", p, err)
	}
	if _, err := Load("nosuch", Options{LocalDir: dir}); err == nil || !strings.Contains(err.Error(), "vmmanager-kvm") {
		t.Fatalf("unknown profile error should list built-ins: %v", err)
	}
}

func TestUnitsRender(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{Bytes(950e9).String(), "884.76 GiB"},
		{Bytes(8 << 30).String(), "8 GiB"},
		{Bytes(2e12).String(), "2 TB"},
		{MHz(2400).String(), "2.40 GHz"},
		{MHz(800).String(), "800 MHz"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
