package packaging

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRPM checks the .rpm without installing it: name, digests (rpm -K),
// requires with the EL/Fedora names, the config file and its noreplace
// flag, the scriptlets, and the files with their modes.
func TestRPM(t *testing.T) {
	requireTool(t, "rpm")
	a, _ := packages(t)
	if got, want := filepath.Base(a.RPM), fmt.Sprintf("vmnode-%s-1.x86_64.rpm", a.Version); got != want {
		t.Errorf("file name %s, want %s", got, want)
	}
	if out := run(t, "rpm", "-K", a.RPM); !strings.Contains(out, "digests OK") {
		t.Errorf("rpm -K: %s", out)
	}
	if got := run(t, "rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}", a.RPM); got != "vmnode "+a.Version+" 1 x86_64" {
		t.Errorf("name version release arch = %q", got)
	}

	requires := strings.Fields(run(t, "rpm", "-qp", "--requires", a.RPM))
	for _, want := range []string{"libvirt-daemon-kvm", "qemu-kvm", "qemu-img", "nftables", "chrony", "dmidecode", "python3"} {
		if !slices.Contains(requires, want) {
			t.Errorf("requires: %s is missing from %v", want, requires)
		}
	}
	for _, debName := range []string{"libvirt-daemon-system", "qemu-system-x86", "|"} {
		if slices.Contains(requires, debName) {
			t.Errorf("requires: %q is a Debian name", debName)
		}
	}

	if got := strings.TrimSpace(run(t, "rpm", "-qp", "--configfiles", a.RPM)); got != "/etc/vmnode/vmnode.yaml" {
		t.Errorf("config files = %q, want /etc/vmnode/vmnode.yaml", got)
	}
	flags := run(t, "rpm", "-qp", "--qf", `[%{FILEFLAGS:fflags} %{FILENAMES}\n]`, a.RPM)
	if !strings.Contains(flags, "cn /etc/vmnode/vmnode.yaml\n") {
		t.Errorf("/etc/vmnode/vmnode.yaml is not %%config(noreplace) (flags cn):\n%s", flags)
	}

	for tag, src := range map[string]string{"POSTIN": "post", "PREUN": "preun", "POSTUN": "postun"} {
		got := run(t, "rpm", "-qp", "--qf", "%{"+tag+"}", a.RPM)
		want, err := os.ReadFile(filepath.Join(repoRoot(t), "packaging", "scripts", "rpm", src))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
			t.Errorf("%%%s is not packaging/scripts/rpm/%s:\n%s", strings.ToLower(tag), src, got)
		}
	}
	if got := run(t, "rpm", "-qp", "--qf", "%{PREIN}", a.RPM); got != "(none)" {
		t.Errorf("the .rpm has a %%pre: %s", got)
	}

	checkContents(t, "rpm", rpmContents(t, a.RPM))
}
