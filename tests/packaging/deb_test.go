package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxDebSize is the target for the .deb.
const maxDebSize = 15 << 20

// TestDeb checks the .deb without installing it: its name, control fields,
// dependencies, conffiles, scripts, files and modes, size, and lintian.
func TestDeb(t *testing.T) {
	requireTool(t, "dpkg-deb")
	a, _ := packages(t)
	if got, want := filepath.Base(a.Deb), fmt.Sprintf("vmnode_%s_amd64.deb", a.Version); got != want {
		t.Errorf("file name %s, want %s", got, want)
	}
	field := func(name string) string {
		return strings.TrimSpace(run(t, "dpkg-deb", "-f", a.Deb, name))
	}
	for name, want := range map[string]string{"Package": "vmnode", "Version": a.Version, "Architecture": "amd64", "Section": "admin"} {
		if got := field(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	// Debian and Ubuntu names; qemu-kvm where it still exists.
	deps := map[string]bool{}
	for _, d := range strings.Split(field("Depends"), ",") {
		deps[strings.TrimSpace(d)] = true
	}
	for _, want := range []string{"libvirt-daemon-system", "qemu-system-x86 | qemu-kvm", "qemu-utils", "nftables", "chrony", "dmidecode", "python3"} {
		if !deps[want] {
			t.Errorf("Depends: %q is missing from %q", want, field("Depends"))
		}
	}
	for _, rpmName := range []string{"libvirt-daemon-kvm", "qemu-kvm"} {
		if deps[rpmName] {
			t.Errorf("Depends: %q is the RPM name", rpmName)
		}
	}

	ctrl := t.TempDir()
	run(t, "dpkg-deb", "--control", a.Deb, ctrl)
	conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil {
		t.Fatalf("no conffiles: %v", err)
	}
	if got := strings.TrimSpace(string(conffiles)); got != "/etc/vmnode/vmnode.yaml" {
		t.Errorf("conffiles = %q, want /etc/vmnode/vmnode.yaml", got)
	}
	for script, src := range map[string]string{"postinst": "postinst", "prerm": "prerm", "postrm": "postrm"} {
		got, err := os.ReadFile(filepath.Join(ctrl, script))
		if err != nil {
			t.Errorf("no %s: %v", script, err)
			continue
		}
		want, err := os.ReadFile(filepath.Join(repoRoot(t), "packaging", "scripts", "deb", src))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s is not packaging/scripts/deb/%s", script, src)
		}
		if fi, _ := os.Stat(filepath.Join(ctrl, script)); fi == nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s is not executable (0755)", script)
		}
	}
	if _, err := os.Stat(filepath.Join(ctrl, "preinst")); err == nil {
		t.Error("the .deb has a preinst: nothing needs to run before unpacking")
	}

	checkContents(t, "deb", debContents(t, a.Deb))

	fi, err := os.Stat(a.Deb)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %.1f MB", filepath.Base(a.Deb), float64(fi.Size())/(1<<20))
	if fi.Size() > maxDebSize {
		t.Errorf("the .deb is %.1f MB, over the %d MB target", float64(fi.Size())/(1<<20), maxDebSize>>20)
	}
}

// TestDebLintian: lintian finds no error and no warning (the overrides in
// packaging/lintian-overrides say why each one that does not apply is there).
func TestDebLintian(t *testing.T) {
	requireTool(t, "lintian")
	a, _ := packages(t)
	out, err := runErr("lintian", "--fail-on", "error,warning", "--no-tag-display-limit", a.Deb)
	if err != nil {
		t.Fatalf("lintian: %v", err)
	}
	if s := strings.TrimSpace(out); s != "" {
		t.Logf("lintian (info):\n%s", s)
	}
}
