package system

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/checktest"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
)

// run also holds this area's errors to a remediation.
func run(t *testing.T, p *profiles.Profile, id string, h *host.Host) preflight.Result {
	t.Helper()
	r := checktest.Run(t, Checks(p), id, h)
	if r.Status == preflight.Error && r.Remediation == "" {
		t.Errorf("%s %s without Remediation: %+v", id, r.Status, r)
	}
	return r
}

func TestChecksIDs(t *testing.T) {
	var ids []string
	for _, c := range Checks(&profiles.Profile{}) {
		ids = append(ids, c.ID())
	}
	want := []string{"os.release", "os.repositories", "packages.required", "selinux.disabled", "shell.prompt"}
	if !slices.Equal(ids, want) {
		t.Errorf("IDs = %v, want %v (an empty profile must still list every check)", ids, want)
	}
}

// The fixture trees, read as under --root, against the KVM profile (seed 004)
// and vmnode's own.
func TestTrees(t *testing.T) {
	tests := []struct {
		tree, profile, id string
		status            preflight.Status
		contains          []string
	}{
		{"almalinux-8.9", "vmmanager-kvm", "os.release", preflight.Pass, []string{"almalinux 8.9"}},
		{"centos-7", "vmmanager-kvm", "os.release", preflight.Fail, []string{"EOL June 30, 2024", "almalinux 8.6, 8.7, 8.8, 8.9"}},
		{"ubuntu-20.04", "vmmanager-kvm", "os.release", preflight.Fail, []string{"ubuntu 20.04", "not supported", "almalinux 8.6"}},
		{"ubuntu-20.04", "vmmanager-lxd", "os.release", preflight.Pass, nil},
		{"debian-12", "vmnode", "os.release", preflight.Pass, []string{"debian 12"}},
		{"ubuntu-22.04-arm64", "vmnode", "os.release", preflight.Pass, nil},

		{"almalinux-8.9", "vmmanager-kvm", "os.repositories", preflight.Pass, []string{"3 enabled repositories"}},
		{"centos-7", "vmmanager-kvm", "os.repositories", preflight.Warn, []string{"epel.repo [epel] https://mirrors.fedoraproject.org/", "docker-ce.repo [docker-ce-stable] https://download.docker.com/"}},
		{"ubuntu-20.04", "vmmanager-lxd", "os.repositories", preflight.Warn, []string{"/etc/apt/sources.list.d/docker.list:1 https://download.docker.com/linux/ubuntu"}},
		{"debian-12", "vmnode", "os.repositories", preflight.Pass, []string{"2 enabled repositories"}},
		{"ubuntu-22.04-arm64", "vmnode", "os.repositories", preflight.Pass, nil},

		{"almalinux-8.9", "vmmanager-kvm", "packages.required", preflight.Pass, []string{"judged by executables", "/usr/sbin/dmidecode", "/usr/bin/python3"}},
		{"centos-7", "vmmanager-kvm", "packages.required", preflight.Fail, []string{"python3", "judged by executables"}},
		{"debian-12", "vmnode", "packages.required", preflight.Fail, []string{"dmidecode", "/var/lib/dpkg/status"}},
		{"ubuntu-20.04", "vmmanager-lxd", "packages.required", preflight.Fail, []string{"zfsutils-linux"}},
		{"ubuntu-22.04-arm64", "vmnode", "packages.required", preflight.Pass, []string{"/var/lib/dpkg/status"}},

		{"almalinux-8.9", "vmmanager-kvm", "selinux.disabled", preflight.Pass, []string{"runtime not checked"}},
		{"centos-7", "vmmanager-kvm", "selinux.disabled", preflight.Fail, []string{"enforcing"}},
		{"debian-12", "vmnode", "selinux.disabled", preflight.Pass, []string{"not installed"}},

		{"almalinux-8.9", "vmmanager-kvm", "shell.prompt", preflight.Pass, nil},
		{"centos-7", "vmmanager-kvm", "shell.prompt", preflight.Pass, nil},
		{"debian-12", "vmnode", "shell.prompt", preflight.Pass, nil},
		{"ubuntu-22.04-arm64", "vmnode", "shell.prompt", preflight.Pass, nil}, // stock skel PS1 lines
		{"ubuntu-20.04", "vmmanager-lxd", "shell.prompt", preflight.Warn, []string{"/root/.bashrc line", "PS1", "PROMPT_COMMAND"}},
	}
	for _, tt := range tests {
		t.Run(tt.tree+"/"+tt.id, func(t *testing.T) {
			r := run(t, checktest.Profile(t, tt.profile), tt.id, hosttest.Tree(t, tt.tree))
			if r.Status != tt.status {
				t.Fatalf("status = %s, want %s: %s", r.Status, tt.status, r.Message)
			}
			all := r.Message + "\n" + r.Observed + "\n" + r.Remediation
			for _, s := range tt.contains {
				if !strings.Contains(all, s) {
					t.Errorf("result does not mention %q:\n%s", s, all)
				}
			}
		})
	}
}

func TestRemedies(t *testing.T) {
	kvm := checktest.Profile(t, "vmmanager-kvm")
	r := run(t, kvm, "selinux.disabled", hosttest.Tree(t, "centos-7"))
	if r.Remediation != "sed -i s/^SELINUX=.*$/SELINUX=disabled/ /etc/selinux/config && reboot" || r.Fix != "selinux" {
		t.Errorf("selinux remedy = %q fix %q", r.Remediation, r.Fix)
	}
	r = run(t, kvm, "packages.required", hosttest.Tree(t, "centos-7"))
	if r.Remediation != "yum install -y python3" {
		t.Errorf("centos-7 package remedy = %q", r.Remediation)
	}
	r = run(t, checktest.Profile(t, "vmnode"), "packages.required", hosttest.Tree(t, "debian-12"))
	if r.Remediation != "apt-get install -y dmidecode" {
		t.Errorf("debian-12 package remedy = %q", r.Remediation)
	}
	r = run(t, kvm, "os.repositories", hosttest.Tree(t, "centos-7"))
	if !strings.Contains(r.Remediation, "yum-config-manager --disable docker-ce-stable epel") {
		t.Errorf("centos-7 repo remedy = %q", r.Remediation)
	}
	r = run(t, checktest.Profile(t, "vmmanager-lxd"), "os.repositories", hosttest.Tree(t, "ubuntu-20.04"))
	if !strings.Contains(r.Remediation, "rm /etc/apt/sources.list.d/docker.list") {
		t.Errorf("ubuntu repo remedy = %q", r.Remediation)
	}
}

func TestOSReleaseFallbackAndErrors(t *testing.T) {
	p := checktest.Profile(t, "vmnode")
	dir := checktest.WriteTree(t, map[string]string{"usr/lib/os-release": "ID=debian\nVERSION_ID=\"12\"\n"})
	if r := run(t, p, "os.release", hosttest.Rooted(t, dir)); r.Status != preflight.Pass {
		t.Errorf("fallback to /usr/lib/os-release: %s %s", r.Status, r.Message)
	}
	for name, files := range map[string]map[string]string{
		"missing":  {"etc/hostname": "x\n"},
		"garbage":  {"etc/os-release": "\x00\x01\x02garbage"},
		"no ID":    {"etc/os-release": "NAME=\"Debian\"\n"},
		"dangling": {"etc/os-release": "@../usr/lib/os-release"},
		"a dir":    {"etc/os-release/x": "ID=debian\n"},
	} {
		r := run(t, p, "os.release", hosttest.Rooted(t, checktest.WriteTree(t, files)))
		if r.Status != preflight.Error {
			t.Errorf("%s os-release: %s %s, want error", name, r.Status, r.Message)
		}
	}
}

func TestSELinuxLive(t *testing.T) {
	p := checktest.Profile(t, "vmmanager-kvm")
	tests := []struct {
		name   string
		files  map[string]string
		status preflight.Status
		want   string
	}{
		{"no selinux at all", map[string]string{"etc/hostname": "x\n"}, preflight.Pass, "not installed"},
		{"disabled, no selinuxfs", map[string]string{"etc/selinux/config": "SELINUX=disabled\n"}, preflight.Pass, "disabled"},
		{"disabled in config, still enforcing", map[string]string{"etc/selinux/config": "SELINUX=disabled\n", "sys/fs/selinux/enforce": "1"}, preflight.Fail, "reboot to finish"},
		{"permissive", map[string]string{"etc/selinux/config": "SELINUX=permissive\n", "sys/fs/selinux/enforce": "0"}, preflight.Fail, "permissive"},
		{"enforcing at runtime, no config", map[string]string{"sys/fs/selinux/enforce": "1\n"}, preflight.Fail, "missing"},
		{"garbage enforce", map[string]string{"etc/selinux/config": "SELINUX=disabled\n", "sys/fs/selinux/enforce": "maybe"}, preflight.Error, "neither 0 nor 1"},
		{"garbage config", map[string]string{"etc/selinux/config": "SELINUX=sometimes\n"}, preflight.Error, "sometimes"},
		{"config without SELINUX=", map[string]string{"etc/selinux/config": "SELINUXTYPE=targeted\n"}, preflight.Error, "no SELINUX="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hosttest.Live(t, checktest.WriteTree(t, tt.files), &hosttest.Kernel{}, hosttest.Runner{}, hosttest.NTP{})
			r := run(t, p, "selinux.disabled", h)
			if r.Status != tt.status || !strings.Contains(r.Message, tt.want) {
				t.Errorf("%s %q, want %s containing %q", r.Status, r.Message, tt.status, tt.want)
			}
		})
	}
	any := *p
	any.SELinux = "any"
	if r := run(t, &any, "selinux.disabled", hosttest.Tree(t, "centos-7")); r.Status != preflight.Skip {
		t.Errorf("selinux: any → %s, want skip", r.Status)
	}
}

// Live RPM hosts: rpm -q answers; --whatprovides covers EL8's python36.
func TestPackagesLiveRPM(t *testing.T) {
	p := checktest.Profile(t, "vmmanager-kvm")
	dir := checktest.WriteTree(t, map[string]string{"etc/hostname": "x\n"})
	notInstalled := func(name string) hosttest.Output {
		return hosttest.Output{Stdout: "package " + name + " is not installed\n", Err: &exec.ExitError{}}
	}
	run1 := func(r hosttest.Runner) preflight.Result {
		return run(t, p, "packages.required", hosttest.Live(t, dir, &hosttest.Kernel{}, r, hosttest.NTP{}))
	}
	r := run1(hosttest.Runner{
		"rpm -q dmidecode":              {Stdout: "dmidecode-3.3-5.el8.x86_64\n"},
		"rpm -q python3":                notInstalled("python3"),
		"rpm -q --whatprovides python3": {Stdout: "python36-3.6.8-38.module_el8.9.0+3636+e6b82b6b.x86_64\n"},
	})
	if r.Status != preflight.Pass || !strings.Contains(r.Message, "rpm -q") {
		t.Errorf("EL8 with python36: %s %s", r.Status, r.Message)
	}
	r = run1(hosttest.Runner{
		"rpm -q dmidecode":              {Stdout: "dmidecode-3.3-5.el8.x86_64\n"},
		"rpm -q python3":                notInstalled("python3"),
		"rpm -q --whatprovides python3": {Stdout: "no package provides python3\n", Err: &exec.ExitError{}},
	})
	if r.Status != preflight.Fail || r.Remediation != "dnf install -y python3" {
		t.Errorf("python3 missing: %s %s / %s", r.Status, r.Message, r.Remediation)
	}
	// No rpm binary: the executables decide (none here).
	r = run1(hosttest.Runner{})
	if r.Status != preflight.Fail || !strings.Contains(r.Message, "judged by executables") {
		t.Errorf("no rpm: %s %s", r.Status, r.Message)
	}
}

func TestPackagesUnreadableDpkg(t *testing.T) {
	p := checktest.Profile(t, "vmnode")
	for name, content := range map[string]string{
		"garbage":      "\x00\xff\xfe",
		"no Package":   "Status: install ok installed\nVersion: 1\n",
		"continuation": " leading continuation\n",
	} {
		dir := checktest.WriteTree(t, map[string]string{"var/lib/dpkg/status": content})
		if r := run(t, p, "packages.required", hosttest.Rooted(t, dir)); r.Status != preflight.Error {
			t.Errorf("%s dpkg status: %s %s, want error", name, r.Status, r.Message)
		}
	}
	dir := checktest.WriteTree(t, map[string]string{"var/lib/dpkg/status": "Package: dmidecode\nStatus: deinstall ok config-files\n\nPackage: python3\nStatus: install ok installed\n"})
	if r := run(t, p, "packages.required", hosttest.Rooted(t, dir)); r.Status != preflight.Fail || !strings.Contains(r.Message, "dmidecode") {
		t.Errorf("removed dmidecode (config-files): %s %s, want fail", r.Status, r.Message)
	}
}

// A --root tree whose /usr/bin/python3 is an absolute symlink the tree
// cannot resolve still has python3 installed: the link is not followed to
// the machine running the test.
func TestPackagesExecutableSymlink(t *testing.T) {
	dir := checktest.WriteTree(t, map[string]string{
		"usr/sbin/dmidecode": "x",
		"usr/bin/python3":    "@/etc/alternatives/python3-not-on-this-machine",
	})
	if r := run(t, checktest.Profile(t, "vmmanager-kvm"), "packages.required", hosttest.Rooted(t, dir)); r.Status != preflight.Pass {
		t.Errorf("%s %s", r.Status, r.Message)
	}
}

func TestReposErrors(t *testing.T) {
	p := checktest.Profile(t, "vmnode")
	for name, files := range map[string]map[string]string{
		"yum garbage":    {"etc/yum.repos.d/x.repo": "this is not ini\n"},
		"apt garbage":    {"etc/apt/sources.list": "deb\n"},
		"deb822 garbage": {"etc/apt/sources.list.d/x.sources": "Types: deb\nSuites: x\n"},
		"binary":         {"etc/yum.repos.d/x.repo": "\x00\x01"},
	} {
		if r := run(t, p, "os.repositories", hosttest.Rooted(t, checktest.WriteTree(t, files))); r.Status != preflight.Error {
			t.Errorf("%s: %s %s, want error", name, r.Status, r.Message)
		}
	}
	if r := run(t, p, "os.repositories", hosttest.Rooted(t, checktest.WriteTree(t, map[string]string{"etc/hostname": "x"}))); r.Status != preflight.Pass {
		t.Errorf("no repositories: %s", r.Status)
	}
}

func TestPromptMissingBashrc(t *testing.T) {
	dir := checktest.WriteTree(t, map[string]string{"etc/hostname": "x\n"})
	if r := run(t, checktest.Profile(t, "vmnode"), "shell.prompt", hosttest.Rooted(t, dir)); r.Status != preflight.Pass {
		t.Errorf("no .bashrc: %s %s", r.Status, r.Message)
	}
	dir = checktest.WriteTree(t, map[string]string{"root/.bash_profile": "export PS1\n"})
	if r := run(t, checktest.Profile(t, "vmnode"), "shell.prompt", hosttest.Rooted(t, dir)); r.Status != preflight.Warn {
		t.Errorf("export PS1 in .bash_profile: %s %s", r.Status, r.Message)
	}
}

// The live host: this machine's own files give an answer, never an error.
func TestLiveMachine(t *testing.T) {
	h := &host.Host{Root: "/", Files: os.DirFS("/"), Live: true, Exec: hosttest.Runner{}}
	for _, c := range Checks(checktest.Profile(t, "vmnode")) {
		r := c.Run(context.Background(), h)
		if r.Status == preflight.Error {
			t.Errorf("%s on this machine: error %s", c.ID(), r.Message)
		}
		t.Logf("%s: %s %s", c.ID(), r.Status, r.Message)
	}
}
