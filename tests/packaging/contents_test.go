package packaging

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// entry is a file in a package.
type entry struct{ mode, owner string }

// wantFiles are in both packages, with these modes, owned by root.
var wantFiles = map[string]string{
	"/usr/bin/vmnode": "-rwxr-xr-x",
	"/usr/lib/systemd/system/vmnode-agent.service": "-rw-r--r--",
	"/etc/vmnode":                                      "drwxr-xr-x",
	"/etc/vmnode/vmnode.yaml":                          "-rw-r--r--",
	"/etc/vmnode/profiles.d":                           "drwxr-xr-x",
	"/usr/share/bash-completion/completions/vmnode":    "-rw-r--r--",
	"/usr/share/fish/vendor_completions.d/vmnode.fish": "-rw-r--r--",
	"/usr/share/man/man1/vmnode.1.gz":                  "-rw-r--r--",
	"/usr/share/man/man1/vmnode-agent.1.gz":            "-rw-r--r--",
	"/usr/share/man/man1/vmnode-join.1.gz":             "-rw-r--r--",
	"/usr/share/man/man1/vmnode-preflight.1.gz":        "-rw-r--r--",
	"/usr/share/man/man1/vmnode-provision.1.gz":        "-rw-r--r--",
	"/usr/share/man/man1/vmnode-profiles-list.1.gz":    "-rw-r--r--",
}

// wantOnly are the files one format has and the other not: zsh looks for
// completions in different places, lintian wants a copyright and changelog.
var wantOnly = map[string]map[string]string{
	"deb": {
		"/usr/share/zsh/vendor-completions/_vmnode": "-rw-r--r--",
		"/usr/share/doc/vmnode/copyright":           "-rw-r--r--",
		"/usr/share/doc/vmnode/changelog.gz":        "-rw-r--r--",
		"/usr/share/lintian/overrides/vmnode":       "-rw-r--r--",
	},
	"rpm": {
		"/usr/share/zsh/site-functions/_vmnode": "-rw-r--r--",
	},
}

func checkContents(t *testing.T, format string, got map[string]entry) {
	t.Helper()
	want := map[string]string{}
	for p, m := range wantFiles {
		want[p] = m
	}
	for p, m := range wantOnly[format] {
		want[p] = m
	}
	for p, mode := range want {
		e, ok := got[p]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", format, p)
		case e.mode != mode || e.owner != "root/root":
			t.Errorf("%s: %s is %s %s, want %s root/root", format, p, e.mode, e.owner, mode)
		}
	}
	for p := range got {
		if strings.Contains(p, "vmnode-docs") {
			t.Errorf("%s: %s: the docs command is hidden and has no man page", format, p)
		}
		for other, files := range wantOnly {
			if _, ok := files[p]; ok && other != format {
				t.Errorf("%s: %s belongs in the %s package only", format, p, other)
			}
		}
	}
}

// debContents lists a .deb's files (dpkg-deb -c).
func debContents(t *testing.T, deb string) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	sc := bufio.NewScanner(strings.NewReader(run(t, "dpkg-deb", "-c", deb)))
	for sc.Scan() {
		// drwxr-xr-x root/root 0 2026-11-21 05:02 ./etc/vmnode/
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			continue
		}
		p := strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")
		if p != "" {
			got[p] = entry{mode: f[0], owner: f[1]}
		}
	}
	return got
}

// rpmContents lists an .rpm's files (rpm -qp).
func rpmContents(t *testing.T, rpm string) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	out := run(t, "rpm", "-qp", "--qf", `[%{FILEMODES:perms} %{FILEUSERNAME}/%{FILEGROUPNAME} %{FILENAMES}\n]`, rpm)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 {
			got[f[2]] = entry{mode: f[0], owner: f[1]}
		}
	}
	return got
}

// TestBinary: the packaged binary is static, stripped, built with -trimpath
// and says the package's version.
func TestBinary(t *testing.T) {
	requireTool(t, "dpkg-deb", "tar")
	a, _ := packages(t)
	bin := filepath.Join(t.TempDir(), "vmnode")
	out, err := exec.Command("sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/bin/vmnode > "$2"`, "sh", a.Deb, bin).CombinedOutput()
	if err != nil {
		t.Fatalf("extract /usr/bin/vmnode: %v\n%s", err, out)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: it is not stripped (-s)")
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" {
		t.Errorf("CGO_ENABLED=%q, want 0", settings["CGO_ENABLED"])
	}
	if settings["-trimpath"] != "true" {
		t.Errorf("-trimpath=%q, want true", settings["-trimpath"])
	}
	if out := run(t, bin, "version"); !strings.HasPrefix(out, "vmnode "+a.Version+" ") {
		t.Errorf("vmnode version = %q, want vmnode %s ...", out, a.Version)
	}
}
