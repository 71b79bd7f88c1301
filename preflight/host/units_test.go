package host_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
)

const unitFile = "[Unit]\nDescription=test\n\n[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n"

// tree builds a root from entries: "path" -> "content", or "path" -> "@target"
// for a symlink.
func tree(t *testing.T, entries map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, v := range entries {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(v, "@"); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(v), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func rooted(dir string) *host.Host { return &host.Host{Root: dir, Files: os.DirFS(dir)} }

func TestUnitEnabled(t *testing.T) {
	tests := []struct {
		name      string
		entries   map[string]string
		ask       []string
		enabled   bool
		which     string
		installed bool
		// systemctl is what `systemctl --root DIR is-enabled ask[0]` says,
		// checked when systemctl is installed; "" skips the comparison.
		systemctl string
	}{
		{
			name: "enabled by a wants link (EL)",
			entries: map[string]string{
				"usr/lib/systemd/system/chronyd.service":                     unitFile,
				"etc/systemd/system/multi-user.target.wants/chronyd.service": "@/usr/lib/systemd/system/chronyd.service",
			},
			ask: []string{"chronyd.service", "chrony.service"}, enabled: true, which: "chronyd.service", installed: true,
			systemctl: "enabled",
		},
		{
			name: "Debian: chrony.service with its chronyd alias",
			entries: map[string]string{
				"lib/systemd/system/chrony.service":                         unitFile + "Alias=chronyd.service\n",
				"etc/systemd/system/chronyd.service":                        "@/lib/systemd/system/chrony.service",
				"etc/systemd/system/multi-user.target.wants/chrony.service": "@/lib/systemd/system/chrony.service",
			},
			ask: []string{"chronyd.service", "chrony.service"}, enabled: true, which: "chrony.service", installed: true,
		},
		{
			name: "wants link under an alias name points at the unit",
			entries: map[string]string{
				"usr/lib/systemd/system/real.service":                      unitFile,
				"etc/systemd/system/multi-user.target.wants/alias.service": "@/usr/lib/systemd/system/real.service",
			},
			ask: []string{"real.service"}, enabled: true, which: "real.service", installed: true,
		},
		{
			name: "installed, not enabled",
			entries: map[string]string{
				"usr/lib/systemd/system/nftables.service":                 unitFile,
				"etc/systemd/system/multi-user.target.wants/sshd.service": "@/usr/lib/systemd/system/sshd.service",
			},
			ask: []string{"nftables.service"}, enabled: false, which: "", installed: true,
			systemctl: "disabled",
		},
		{
			name: "a vendor wants link is not enablement",
			entries: map[string]string{
				"usr/lib/systemd/system/nftables.service":                         unitFile,
				"usr/lib/systemd/system/multi-user.target.wants/nftables.service": "@../nftables.service",
			},
			ask: []string{"nftables.service"}, enabled: false, installed: true,
		},
		{
			name: "masked beats a wants link",
			entries: map[string]string{
				"usr/lib/systemd/system/nftables.service":                     unitFile,
				"etc/systemd/system/nftables.service":                         "@/dev/null",
				"etc/systemd/system/multi-user.target.wants/nftables.service": "@/usr/lib/systemd/system/nftables.service",
			},
			ask: []string{"nftables.service"}, enabled: false, which: "nftables.service", installed: true,
			systemctl: "masked",
		},
		{
			name: "masked and not installed",
			entries: map[string]string{
				"etc/systemd/system/nftables.service": "@/dev/null",
			},
			ask: []string{"nftables.service"}, enabled: false, which: "nftables.service", installed: false,
		},
		{
			name: "requires link counts",
			entries: map[string]string{
				"usr/lib/systemd/system/a.service":                   unitFile,
				"etc/systemd/system/basic.target.requires/a.service": "@/usr/lib/systemd/system/a.service",
			},
			ask: []string{"a.service"}, enabled: true, which: "a.service", installed: true,
		},
		{
			name: "template instance enables the template",
			entries: map[string]string{
				"lib/systemd/system/getty@.service":                        unitFile,
				"etc/systemd/system/getty.target.wants/getty@tty1.service": "@/lib/systemd/system/getty@.service",
			},
			ask: []string{"getty@.service"}, enabled: true, which: "getty@.service", installed: true,
		},
		{
			name: "a copied tree: plain file in .wants",
			entries: map[string]string{
				"usr/lib/systemd/system/chronyd.service":                     unitFile,
				"etc/systemd/system/multi-user.target.wants/chronyd.service": unitFile,
			},
			ask: []string{"chronyd.service"}, enabled: true, which: "chronyd.service", installed: true,
		},
		{
			name: "nothing at all",
			entries: map[string]string{
				"etc/hostname": "x\n",
			},
			ask: []string{"chronyd.service", "chrony.service"}, enabled: false, installed: false,
		},
	}
	systemctl, _ := exec.LookPath("systemctl")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tree(t, tt.entries)
			h := rooted(dir)
			enabled, which, err := h.UnitEnabled(tt.ask...)
			if err != nil {
				t.Fatal(err)
			}
			if enabled != tt.enabled || which != tt.which {
				t.Errorf("UnitEnabled(%v) = %v, %q; want %v, %q", tt.ask, enabled, which, tt.enabled, tt.which)
			}
			if got := h.UnitInstalled(tt.ask...); got != tt.installed {
				t.Errorf("UnitInstalled(%v) = %v, want %v", tt.ask, got, tt.installed)
			}
			if tt.systemctl != "" && systemctl != "" {
				out, _ := exec.Command(systemctl, "--root", dir, "is-enabled", tt.ask[0]).Output()
				if got := strings.TrimSpace(string(out)); got != tt.systemctl {
					t.Errorf("systemctl --root is-enabled %s = %q, table says %q", tt.ask[0], got, tt.systemctl)
				}
			}
		})
	}
}

// An absolute symlink inside a --root tree must not be followed to the
// machine running the test: the tree's unit link points at a path that
// exists here, but not in the tree.
func TestUnitInstalledDoesNotEscapeRoot(t *testing.T) {
	dir := tree(t, map[string]string{
		"usr/lib/systemd/system/x.service": "@" + filepath.Join(t.TempDir(), "missing"),
	})
	if !rooted(dir).UnitInstalled("x.service") {
		t.Error("a dangling unit symlink is still a unit file present in the tree")
	}
}

// The live host: whatever systemctl says about a unit, UnitEnabled agrees.
func TestUnitEnabledLiveAgreesWithSystemctl(t *testing.T) {
	systemctl, err := exec.LookPath("systemctl")
	if err != nil {
		t.Skip("systemctl not installed")
	}
	links, _ := filepath.Glob("/etc/systemd/system/*.wants/*.service")
	if len(links) == 0 {
		t.Skip("no enabled services on this machine")
	}
	h := &host.Host{Root: "/", Files: os.DirFS("/"), Live: true}
	for _, l := range links[:min(len(links), 5)] {
		name := filepath.Base(l)
		if strings.Contains(name, "@") {
			continue
		}
		out, _ := exec.Command(systemctl, "--root", "/", "is-enabled", name).Output()
		want := strings.TrimSpace(string(out)) == "enabled"
		got, _, err := h.UnitEnabled(name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: UnitEnabled = %v, systemctl is-enabled says %q", name, got, strings.TrimSpace(string(out)))
		}
	}
}

// The fixture trees: UnitEnabled agrees with `systemctl --root TREE
// is-enabled` for every unit the checks ask about.
func TestUnitEnabledFixturesAgreeWithSystemctl(t *testing.T) {
	systemctl, err := exec.LookPath("systemctl")
	if err != nil {
		t.Skip("systemctl not installed")
	}
	for _, tree := range []string{"almalinux-8.9", "centos-7", "debian-12", "ubuntu-20.04", "ubuntu-22.04-arm64"} {
		dir := hosttest.TreeDir(tree)
		h := hosttest.Tree(t, tree)
		for _, unit := range []string{"chronyd.service", "chrony.service", "nftables.service", "sshd.service"} {
			out, _ := exec.Command(systemctl, "--root", dir, "is-enabled", unit).Output()
			state := strings.TrimSpace(string(out))
			if state == "alias" {
				continue // asked under its real name
			}
			got, _, err := h.UnitEnabled(unit)
			if err != nil {
				t.Fatal(err)
			}
			if want := state == "enabled"; got != want {
				t.Errorf("%s %s: UnitEnabled = %v, systemctl says %q", tree, unit, got, state)
			}
			if inst := h.UnitInstalled(unit); inst != (state != "") {
				t.Errorf("%s %s: UnitInstalled = %v, systemctl says %q", tree, unit, inst, state)
			}
		}
	}
}
