package systemd

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
	"github.com/vmnode/vmnode/provision"
)

// fixture copies testdata/NAME (real unit files from Debian 12) to a
// directory the test may change.
func fixture(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("cp", "-a", filepath.Join("testdata", name), dir).CombinedOutput(); err != nil {
		t.Fatalf("copy fixture: %v\n%s", err, out)
	}
	return dir
}

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree lists every entry under root/etc/systemd/system with link targets.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	base := filepath.Join(root, "etc/systemd/system")
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(base, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			rel += " -> " + target
		}
		out = append(out, rel)
		return nil
	})
	return out
}

func summaries(p provision.StepPlan) []string {
	var s []string
	for _, c := range p.Changes {
		s = append(s, c.Summary+" "+c.Target)
	}
	return s
}

func debianUnits() []Unit {
	return ForProfile(&profiles.Profile{Services: []string{"nftables", "chronyd"}})
}

// TestOfflineEnablesLikeSystemctlRoot enables chrony and nftables in a Debian
// 12 root: the links systemctl would make appear, preflight agrees they are
// enabled, and a second plan is empty.
func TestOfflineEnablesLikeSystemctlRoot(t *testing.T) {
	ctx := context.Background()
	root := fixture(t, "debian-12")
	h := hosttest.Rooted(t, root)
	for _, names := range [][]string{{"chronyd.service", "chrony.service"}, {"nftables.service"}} {
		if ok, _, err := h.UnitEnabled(names...); err != nil || ok {
			t.Fatalf("before: UnitEnabled(%v) = %v, %v; the fixture must start disabled", names, ok, err)
		}
	}

	step := NewStep(debianUnits(), Offline{Root: root})
	if step.Name() != "services" {
		t.Errorf("Name() = %q", step.Name())
	}
	plan, err := step.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"enable nftables.service", "enable chrony.service"}
	if got := summaries(plan); !slices.Equal(got, want) {
		t.Fatalf("plan = %v, want %v", got, want)
	}
	if d := plan.Changes[1].Diff; !strings.Contains(d, "/etc/systemd/system/multi-user.target.wants/chrony.service -> /usr/lib/systemd/system/chrony.service") ||
		!strings.Contains(d, "/etc/systemd/system/chronyd.service -> /usr/lib/systemd/system/chrony.service") {
		t.Errorf("chrony diff does not list its links:\n%s", d)
	}
	for _, n := range []string{"nftables.service will start at next boot", "chrony.service will start at next boot"} {
		if !slices.Contains(plan.Notes, n) {
			t.Errorf("notes %q lack %q", plan.Notes, n)
		}
	}
	if err := step.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}

	got := tree(t, root)
	for _, l := range []string{
		"multi-user.target.wants/chrony.service -> /usr/lib/systemd/system/chrony.service",
		"chronyd.service -> /usr/lib/systemd/system/chrony.service",
		"sysinit.target.wants/nftables.service -> /usr/lib/systemd/system/nftables.service",
	} {
		if !slices.Contains(got, l) {
			t.Errorf("after apply, /etc/systemd/system lacks %s; has %q", l, got)
		}
	}
	// As preflight's checks ask: by every name the distro may use. (It does
	// not follow the chronyd.service alias link on its own.)
	for _, names := range [][]string{{"chronyd.service", "chrony.service"}, {"chrony.service"}, {"nftables.service"}} {
		if ok, _, err := h.UnitEnabled(names...); err != nil || !ok {
			t.Errorf("preflight: UnitEnabled(%v) = %v, %v after apply", names, ok, err)
		}
	}

	// chronyd.service is now an alias link: it must resolve to chrony.service.
	again, err := step.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Empty() {
		t.Errorf("second plan not empty: %v", summaries(again))
	}
	if err := step.Apply(ctx, again); err != nil {
		t.Fatal(err)
	}
	if after := tree(t, root); !slices.Equal(after, got) {
		t.Errorf("empty apply changed the tree:\n%q\n%q", got, after)
	}
}

// TestOfflineFailureUndoesLinks makes the second link of a unit impossible to
// create: Apply fails, and every link and directory the step made (including
// an earlier unit's) is gone again.
func TestOfflineFailureUndoesLinks(t *testing.T) {
	ctx := context.Background()
	root := fixture(t, "debian-12")
	writeFile(t, root, "usr/lib/systemd/system/two.service",
		"[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\nRequiredBy=blocked.target\n")
	// A file where the .requires directory must go: creating the link fails.
	writeFile(t, root, "etc/systemd/system/blocked.target.requires", "not a directory\n")
	before := tree(t, root)

	units := append(debianUnits(), Unit{Name: "two.service", Enable: true})
	step := NewStep(units, Offline{Root: root})
	plan, err := step.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := summaries(plan); len(got) != 3 {
		t.Fatalf("plan = %v, want 3 enables", got)
	}
	err = step.Apply(ctx, plan)
	if err == nil {
		t.Fatal("Apply succeeded with blocked.target.requires a regular file")
	}
	for _, s := range []string{"two.service", "blocked.target.requires", "undone: enable nftables.service, enable chrony.service"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if after := tree(t, root); !slices.Equal(after, before) {
		t.Errorf("failed apply left changes:\nbefore %q\nafter  %q", before, after)
	}
}

// TestOfflineInstallsUnitFile installs a unit from Content, enables it, and
// converges; the backup manifest records the new file.
func TestOfflineInstallsUnitFile(t *testing.T) {
	ctx := context.Background()
	root := fixture(t, "debian-12")
	content := "[Unit]\nDescription=vmnode agent\n[Service]\nExecStart=/usr/bin/vmnode agent\n[Install]\nWantedBy=multi-user.target\n"
	step := NewStep([]Unit{{Name: "vmnode-agent.service", Enable: true, Start: true, Content: []byte(content)}}, Offline{Root: root})
	plan, err := step.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"install unit file vmnode-agent.service", "enable vmnode-agent.service"}
	if got := summaries(plan); !slices.Equal(got, want) {
		t.Fatalf("plan = %v, want %v", got, want)
	}
	if !strings.Contains(plan.Changes[0].Diff, "+ExecStart=/usr/bin/vmnode agent") {
		t.Errorf("install diff:\n%s", plan.Changes[0].Diff)
	}
	if err := step.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/vmnode-agent.service"))
	if err != nil || string(b) != content {
		t.Fatalf("unit file = %q, %v", b, err)
	}
	if ok, _, _ := hosttest.Rooted(t, root).UnitEnabled("vmnode-agent.service"); !ok {
		t.Error("preflight does not see vmnode-agent.service enabled")
	}
	if again, err := step.Plan(ctx); err != nil || !again.Empty() {
		t.Errorf("second plan = %v, %v; want empty", summaries(again), err)
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		units []Unit
		want  []string
	}{
		{
			name:  "libvirtd not installed names the Debian package",
			units: ForProfile(&profiles.Profile{Services: []string{"nftables", "libvirtd"}}),
			want:  []string{"libvirtd.service is not installed", "install package libvirt-daemon-system"},
		},
		{
			name: "RHEL package on a RHEL root",
			setup: func(t *testing.T, root string) {
				os.Remove(filepath.Join(root, "etc/os-release"))
				writeFile(t, root, "etc/os-release", "NAME=\"AlmaLinux\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\n")
			},
			units: ForProfile(&profiles.Profile{Services: []string{"libvirtd"}}),
			want:  []string{"libvirtd.service is not installed", "install package libvirt-daemon-kvm"},
		},
		{
			name: "masked",
			setup: func(t *testing.T, root string) {
				os.Symlink("/dev/null", filepath.Join(root, "etc/systemd/system/nftables.service"))
			},
			units: ForProfile(&profiles.Profile{Services: []string{"nftables"}}),
			want:  []string{"nftables.service is masked", "systemctl unmask nftables.service"},
		},
		{
			name: "a foreign link in the way",
			setup: func(t *testing.T, root string) {
				os.Symlink("/usr/lib/systemd/system/other.service", filepath.Join(root, "etc/systemd/system/chronyd.service"))
			},
			units: []Unit{{Name: "chrony.service", Enable: true}},
			want:  []string{"/etc/systemd/system/chronyd.service exists and points to /usr/lib/systemd/system/other.service"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fixture(t, "debian-12")
			if tt.setup != nil {
				tt.setup(t, root)
			}
			before := tree(t, root)
			_, err := NewStep(tt.units, Offline{Root: root}).Plan(context.Background())
			if err == nil {
				t.Fatal("Plan succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if after := tree(t, root); !slices.Equal(after, before) {
				t.Errorf("Plan wrote: %q -> %q", before, after)
			}
		})
	}
}

// TestOfflineStaysInsideRoot: an absolute link in the root must be resolved
// inside it, never on the machine running the test.
func TestOfflineStaysInsideRoot(t *testing.T) {
	root := fixture(t, "debian-12")
	// /etc/systemd/system/x.service -> /usr/lib/systemd/system/nftables.service
	// is an alias inside the root; the host's own file must not be read.
	os.Symlink("/usr/lib/systemd/system/nftables.service", filepath.Join(root, "etc/systemd/system/x.service"))
	st, err := Offline{Root: root}.Lookup(context.Background(), "x.service")
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "nftables.service" || st.Path != "/usr/lib/systemd/system/nftables.service" || st.FileState != "disabled" {
		t.Errorf("Lookup(x.service) = %+v", st)
	}
	if st, _ := (Offline{Root: root}).Lookup(context.Background(), "ssh.service"); st.Installed {
		t.Errorf("ssh.service (absent from the root, maybe present on this machine) found: %+v", st)
	}
}

func TestForProfile(t *testing.T) {
	got := ForProfile(&profiles.Profile{Services: []string{"nftables", "chronyd", "chrony", "libvirtd", "serial-getty@ttyS0.service"}})
	want := []Unit{
		{Name: "nftables.service", Enable: true, Start: true},
		{Name: "chronyd.service", Aliases: []string{"chrony.service"}, Enable: true, Start: true},
		{Name: "libvirtd.service", Enable: true, Start: true},
		{Name: "serial-getty@ttyS0.service", Enable: true, Start: true},
	}
	if len(got) != len(want) {
		t.Fatalf("ForProfile = %+v", got)
	}
	for i := range want {
		if got[i].Name != want[i].Name || !slices.Equal(got[i].Aliases, want[i].Aliases) || !got[i].Enable || !got[i].Start {
			t.Errorf("unit %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
