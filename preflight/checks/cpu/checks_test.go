package cpu

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/checktest"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
)

func run(t *testing.T, p *profiles.Profile, id string, h *host.Host) preflight.Result {
	t.Helper()
	return checktest.Run(t, Checks(p), id, h)
}

// tree writes files into a temporary --root tree.
func tree(t *testing.T, files map[string]string) *host.Host {
	t.Helper()
	return hosttest.Rooted(t, checktest.WriteTree(t, files))
}

type want struct {
	status   preflight.Status
	contains []string // in Message
	observed string   // exact, when set
}

func check(t *testing.T, r preflight.Result, w want) {
	t.Helper()
	if r.Status != w.status {
		t.Errorf("status = %s, want %s (message %q)", r.Status, w.status, r.Message)
	}
	checktest.MessageContains(t, r, w.contains)
	if w.observed != "" && r.Observed != w.observed {
		t.Errorf("observed = %q, want %q", r.Observed, w.observed)
	}
	if r.Expected == "" {
		t.Errorf("no expected value (message %q)", r.Message)
	}
	if (r.Status == preflight.Warn || r.Status == preflight.Fail) && r.Remediation == "" {
		t.Errorf("%s without remediation: %q", r.Status, r.Message)
	}
}

func TestChecksIDs(t *testing.T) {
	var ids []string
	for _, c := range Checks(&profiles.Profile{}) {
		ids = append(ids, c.ID())
		if c.Title() == "" {
			t.Errorf("%s has no title", c.ID())
		}
	}
	if got := strings.Join(ids, " "); got != "cpu.virtualization cpu.kvm-device cpu.arch cpu.cores cpu.frequency" {
		t.Errorf("IDs = %s", got)
	}
}

// TestTrees runs the checks against the fixture trees as under --root.
func TestTrees(t *testing.T) {
	for _, tc := range []struct {
		tree, profile, id string
		want
	}{
		{"almalinux-8.9", "vmmanager-kvm", IDVirtualization, want{preflight.Pass, []string{"Intel VT-x"}, "vmx"}},
		{"ubuntu-20.04", "vmmanager-kvm", IDVirtualization, want{preflight.Pass, []string{"AMD-V"}, "svm"}},
		{"centos-7", "vmmanager-kvm", IDVirtualization, want{preflight.Pass, []string{"vmx"}, "vmx"}},
		// This machine is a VM without nested virtualization flags; under
		// --root /dev/kvm cannot be tried.
		{"debian-12", "vmnode", IDVirtualization, want{preflight.Fail, []string{"hypervisor flag", "virtual machine"}, ""}},
		{"ubuntu-22.04-arm64", "vmmanager-kvm", IDVirtualization, want{preflight.Skip, []string{"aarch64", "x86 flags"}, ""}},

		{"almalinux-8.9", "vmmanager-kvm", IDKVMDevice, want{preflight.Skip, []string{"--root"}, ""}},

		{"almalinux-8.9", "vmmanager-kvm", IDArch, want{preflight.Pass, []string{"x86_64", "inferred from /proc/cpuinfo"}, "x86_64"}},
		{"ubuntu-20.04", "vmmanager-lxd", IDArch, want{preflight.Pass, nil, "x86_64"}},
		{"ubuntu-22.04-arm64", "vmmanager-kvm", IDArch, want{preflight.Fail, []string{"Processors with ARM architecture are not supported", "aarch64"}, "aarch64"}},

		{"almalinux-8.9", "vmmanager-kvm", IDCores, want{preflight.Pass, []string{"40 logical CPUs in 2 sockets"}, "40"}},
		{"ubuntu-20.04", "vmmanager-kvm", IDCores, want{preflight.Pass, []string{"32 logical CPUs in 1 socket"}, "32"}},
		{"centos-7", "vmmanager-kvm", IDCores, want{preflight.Pass, []string{"8 logical CPUs"}, "8"}},
		{"ubuntu-22.04-arm64", "vmnode", IDCores, want{preflight.Pass, []string{"80 logical CPUs"}, "80"}},
		{"debian-12", "vmnode", IDCores, want{preflight.Warn, []string{"2 logical CPUs", "4 or more are recommended"}, "2"}},
		{"debian-12", "vmmanager-kvm", IDCores, want{preflight.Fail, []string{"requires at least 4"}, "2"}},

		// cpufreq says 2.40 GHz although cpu MHz shows ~1200: rated, not current.
		{"almalinux-8.9", "vmmanager-kvm", IDFrequency, want{preflight.Warn, []string{"2.40 GHz", "cpuinfo_max_freq", "3.00 GHz or more is recommended"}, "2.40 GHz (cpufreq)"}},
		{"ubuntu-20.04", "vmmanager-kvm", IDFrequency, want{preflight.Pass, []string{"3.00 GHz", "cpuinfo_max_freq"}, "3.00 GHz (cpufreq)"}},
		{"centos-7", "vmmanager-kvm", IDFrequency, want{preflight.Pass, []string{"3.40 GHz", "model name"}, "3.40 GHz (model name)"}},
		{"ubuntu-22.04-arm64", "vmmanager-kvm", IDFrequency, want{preflight.Pass, []string{"3.00 GHz"}, "3.00 GHz (cpufreq)"}},
		{"debian-12", "vmnode", IDFrequency, want{preflight.Pass, []string{"cpu MHz", "runs at"}, ""}},
		{"debian-12", "vmmanager-kvm", IDFrequency, want{preflight.Warn, []string{"cpu MHz", "current speed"}, ""}},
	} {
		t.Run(tc.tree+"/"+tc.profile+"/"+tc.id, func(t *testing.T) {
			check(t, run(t, checktest.Profile(t, tc.profile), tc.id, hosttest.Tree(t, tc.tree)), tc.want)
		})
	}
}

// TestLive presents the trees as live hosts with scripted kernels.
func TestLive(t *testing.T) {
	usable := map[string]error{"/dev/kvm": nil}
	for _, tc := range []struct {
		name, tree, id string
		k              hosttest.Kernel
		want
	}{
		{"nested VM", "debian-12", IDVirtualization, hosttest.Kernel{Devices: usable},
			want{preflight.Warn, []string{"/dev/kvm is usable", "nested"}, ""}},
		{"VM without kvm", "debian-12", IDVirtualization, hosttest.Kernel{},
			want{preflight.Fail, []string{"neither vmx", "virtual machine"}, ""}},
		{"arm with kvm", "ubuntu-22.04-arm64", IDVirtualization, hosttest.Kernel{Devices: usable},
			want{preflight.Pass, []string{"/dev/kvm is usable"}, ""}},
		{"vmx does not need kvm", "almalinux-8.9", IDVirtualization, hosttest.Kernel{},
			want{preflight.Pass, []string{"VT-x"}, "vmx"}},

		{"kvm usable", "almalinux-8.9", IDKVMDevice, hosttest.Kernel{Devices: usable},
			want{preflight.Pass, []string{"opens read-write"}, "usable"}},
		{"kvm missing", "almalinux-8.9", IDKVMDevice, hosttest.Kernel{},
			want{preflight.Fail, []string{"does not exist"}, "missing"}},
		{"kvm no module", "ubuntu-20.04", IDKVMDevice, hosttest.Kernel{Devices: map[string]error{"/dev/kvm": errors.New("open /dev/kvm: no such device")}},
			want{preflight.Fail, []string{"cannot be opened", "no such device"}, ""}},
		{"kvm permission", "ubuntu-20.04", IDKVMDevice, hosttest.Kernel{Devices: map[string]error{"/dev/kvm": fs.ErrPermission}},
			want{preflight.Warn, []string{"may not open"}, "permission denied"}},

		{"uname x86_64", "almalinux-8.9", IDArch, hosttest.Kernel{MachineName: "x86_64"},
			want{preflight.Pass, []string{"uname -m"}, "x86_64"}},
		{"uname aarch64", "ubuntu-22.04-arm64", IDArch, hosttest.Kernel{MachineName: "aarch64"},
			want{preflight.Fail, []string{"Processors with ARM architecture are not supported"}, "aarch64"}},
		{"uname i686", "centos-7", IDArch, hosttest.Kernel{MachineName: "i686"},
			want{preflight.Fail, []string{"i686 architecture is not supported"}, "i686"}},
		{"uname fails", "centos-7", IDArch, hosttest.Kernel{Err: errors.New("uname: boom")},
			want{preflight.Error, []string{"uname -m", "boom"}, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.k
			h := hosttest.Live(t, hosttest.TreeDir(tc.tree), &k, hosttest.Runner{}, nil)
			check(t, run(t, checktest.Profile(t, "vmmanager-kvm"), tc.id, h), tc.want)
		})
	}
}

func TestKVMModuleInRemedy(t *testing.T) {
	for tree, mod := range map[string]string{"almalinux-8.9": "modprobe kvm_intel", "ubuntu-20.04": "modprobe kvm_amd"} {
		h := hosttest.Live(t, hosttest.TreeDir(tree), &hosttest.Kernel{}, hosttest.Runner{}, nil)
		r := run(t, checktest.Profile(t, "vmmanager-kvm"), IDKVMDevice, h)
		if !strings.Contains(r.Remediation, mod) {
			t.Errorf("%s: remediation %q does not say %q", tree, r.Remediation, mod)
		}
	}
}

// TestBadFiles: a missing, empty or garbage file is an error, never a panic
// or a verdict about the host.
func TestBadFiles(t *testing.T) {
	p := checktest.Profile(t, "vmmanager-kvm")
	for _, tc := range []struct {
		name  string
		files map[string]string
		ids   []string
		msg   string
	}{
		{"missing cpuinfo", map[string]string{"etc/hostname": "x\n"}, []string{IDVirtualization, IDArch, IDCores, IDFrequency}, "could not read"},
		{"empty cpuinfo", map[string]string{"proc/cpuinfo": ""}, []string{IDVirtualization, IDArch, IDCores, IDFrequency}, "no \"processor\" entries"},
		{"garbage cpuinfo", map[string]string{"proc/cpuinfo": "\x7fELF\x02\x01\x01 garbage: yes\nprocessor: x\n"}, []string{IDVirtualization, IDArch, IDCores, IDFrequency}, "not a CPU number"},
		{"no arch fields", map[string]string{"proc/cpuinfo": "processor\t: 0\n"}, []string{IDArch}, "cannot tell the CPU architecture"},
		{"no frequency", map[string]string{"proc/cpuinfo": "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU\n"}, []string{IDFrequency}, "cannot tell the CPU frequency"},
		{"garbage cpufreq", map[string]string{
			"proc/cpuinfo": x86Sample,
			"sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": "<unsupported>\n",
		}, []string{IDFrequency}, "not a frequency in kHz"},
	} {
		for _, id := range tc.ids {
			t.Run(tc.name+"/"+id, func(t *testing.T) {
				r := run(t, p, id, tree(t, tc.files))
				if r.Status != preflight.Error || !strings.Contains(r.Message, tc.msg) {
					t.Errorf("got %s %q, want error containing %q", r.Status, r.Message, tc.msg)
				}
			})
		}
	}
}

func TestJudgeFrequency(t *testing.T) {
	r := profiles.Range[profiles.MHz]{Min: 2400, Recommended: 3000}
	for _, tc := range []struct {
		name string
		f    freqReading
		want preflight.Status
	}{
		{"cpufreq exactly min", freqReading{MHz: 2400, Source: "cpufreq cpuinfo_max_freq"}, preflight.Warn},
		{"cpufreq below min", freqReading{MHz: 2399, Source: "cpufreq cpuinfo_max_freq"}, preflight.Fail},
		{"measured within calibration", freqReading{MHz: 2399.998, Source: "cpu MHz", Measured: true}, preflight.Warn},
		{"measured idle", freqReading{MHz: 1200, Source: "cpu MHz", Measured: true}, preflight.Fail},
		{"recommended", freqReading{MHz: 3000, Source: "model name"}, preflight.Pass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := judgeFrequency(tc.f, r)
			if got.Status != tc.want {
				t.Errorf("status = %s, want %s: %s", got.Status, tc.want, got.Message)
			}
		})
	}
	if got := judgeFrequency(freqReading{MHz: 100}, profiles.Range[profiles.MHz]{}); got.Status != preflight.Pass || got.Expected != "no requirement" {
		t.Errorf("zero range: %s %q", got.Status, got.Expected)
	}
}

func TestJudgeCoresNoRequirement(t *testing.T) {
	if got := judgeCores(1, 0, profiles.Range[int]{}); got.Status != preflight.Pass {
		t.Errorf("zero range: %s %q", got.Status, got.Message)
	}
	if got := judgeCores(6, 1, profiles.Range[int]{Recommended: 8}); got.Status != preflight.Warn {
		t.Errorf("recommended only: %s %q", got.Status, got.Message)
	}
}
