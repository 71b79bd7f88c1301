package cpu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// The stable check IDs of this package.
const (
	IDVirtualization = "cpu.virtualization"
	IDKVMDevice      = "cpu.kvm-device"
	IDArch           = "cpu.arch"
	IDCores          = "cpu.cores"
	IDFrequency      = "cpu.frequency"
)

const (
	cpuinfoPath = "/proc/cpuinfo"
	kvmPath     = "/dev/kvm"
	// maxFreqPath is the highest frequency cpufreq may select, in kHz.
	maxFreqPath = "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"
)

// Checks returns the CPU checks with the profile's thresholds. It does no I/O.
func Checks(p *profiles.Profile) []preflight.Check {
	arches := slices.Clone(p.CPU.Arch)
	cores, freq := p.CPU.Cores, p.CPU.Frequency
	return []preflight.Check{
		preflight.Func{CheckID: IDVirtualization, CheckTitle: "CPU virtualization extensions (VT-x / AMD-V)", Fn: virtualization},
		preflight.Func{CheckID: IDKVMDevice, CheckTitle: "KVM device /dev/kvm", Fn: kvmDevice},
		preflight.Func{CheckID: IDArch, CheckTitle: "CPU architecture", Fn: func(_ context.Context, h *host.Host) preflight.Result {
			return archCheck(h, arches)
		}},
		preflight.Func{CheckID: IDCores, CheckTitle: "Logical CPUs", Fn: func(_ context.Context, h *host.Host) preflight.Result {
			info, r, ok := readCPUInfo(h)
			if !ok {
				return r
			}
			return judgeCores(len(info.Processors), info.Sockets(), cores)
		}},
		preflight.Func{CheckID: IDFrequency, CheckTitle: "CPU rated frequency", Fn: func(_ context.Context, h *host.Host) preflight.Result {
			return frequencyCheck(h, freq)
		}},
	}
}

// readCPUInfo reads and parses /proc/cpuinfo; when it cannot, ok is false
// and r is the Error result to return.
func readCPUInfo(h *host.Host) (info CPUInfo, r preflight.Result, ok bool) {
	b, err := h.ReadFile(cpuinfoPath)
	if err != nil {
		return CPUInfo{}, preflight.Errorf("could not read the CPU description: %v", err).
			Saw("unreadable", cpuinfoPath+" readable").
			Remedy("check that /proc is mounted (or, under --root, that the tree holds proc/cpuinfo captured from the server)"), false
	}
	info, err = parseCPUInfo(b)
	if err != nil {
		return CPUInfo{}, preflight.Errorf("%s is not a CPU description the kernel writes: %v", cpuinfoPath, err).
			Saw("unparsable", cpuinfoPath+" with processor entries").
			Remedy("check that /proc is the kernel's procfs (`mount | grep ' /proc '`); under --root, capture proc/cpuinfo again with `cat /proc/cpuinfo`"), false
	}
	return info, preflight.Result{}, true
}

// kvmModule names the KVM module for the CPU vendor, "" when unknown.
func kvmModule(info CPUInfo) string {
	switch info.Vendor() {
	case "GenuineIntel":
		return "kvm_intel"
	case "AuthenticAMD", "HygonGenuine":
		return "kvm_amd"
	}
	return ""
}

// modprobe is the command that loads the KVM module for the vendor.
func modprobe(module string) string {
	if module == "" {
		return "`modprobe kvm_intel` (Intel) or `modprobe kvm_amd` (AMD)"
	}
	return "`modprobe " + module + "`"
}

func virtualization(_ context.Context, h *host.Host) preflight.Result {
	info, r, ok := readCPUInfo(h)
	if !ok {
		return r
	}
	kvm := host.ErrNotLive
	if h.Live && !info.HasFlag("vmx") && !info.HasFlag("svm") {
		kvm = h.Kernel.OpenDevice(kvmPath)
	}
	return judgeVirtualization(info, kvm)
}

// judgeVirtualization decides cpu.virtualization from the cpuinfo flags and,
// when they lack vmx and svm, whether /dev/kvm opened (kvmErr nil) on the
// live host; kvmErr is host.ErrNotLive under --root.
func judgeVirtualization(info CPUInfo, kvmErr error) preflight.Result {
	const want = "vmx (Intel VT-x) or svm (AMD-V) in /proc/cpuinfo flags"
	switch {
	case info.HasFlag("vmx"):
		return preflight.Passf("Intel VT-x is available: the CPU flags include vmx").Saw("vmx", want)
	case info.HasFlag("svm"):
		return preflight.Passf("AMD-V is available: the CPU flags include svm").Saw("svm", want)
	}
	if a := info.Arch(); strings.HasPrefix(a, "arm") || a == "aarch64" {
		if kvmErr == nil {
			return preflight.Passf("%s CPU: vmx and svm are x86 flags, and /dev/kvm is usable", a).Saw(a+", /dev/kvm usable", want)
		}
		return preflight.Skipf("the CPU is %s: vmx and svm are x86 flags; cpu.arch reports the architecture and cpu.kvm-device whether KVM is usable", a).
			Saw(a, want)
	}
	vm := info.HasFlag("hypervisor")
	if kvmErr == nil {
		return preflight.Warnf("the CPU flags have neither vmx nor svm, but /dev/kvm is usable: this is a virtual machine with nested virtualization, not a physical server").
			Saw("no vmx/svm flag; /dev/kvm usable (nested)", want).
			Remedy("nested KVM works for tests but is slow and not supported for production nodes: run the node on a physical server with Intel VT-x / AMD-V enabled in the BIOS/UEFI setup")
	}
	if vm {
		return preflight.Failf("the CPU flags have neither vmx (Intel VT-x) nor svm (AMD-V), and the hypervisor flag says this is a virtual machine without nested virtualization").
			Saw("no vmx/svm flag (virtual machine)", want).
			Remedy("use a physical server; for a test VM, enable nested virtualization on its hypervisor (KVM: `options kvm_intel nested=1` or `options kvm_amd nested=1` on the host and CPU mode host-passthrough; VMware: \"Expose hardware assisted virtualization to the guest OS\"), then reboot the VM")
	}
	return preflight.Failf("the CPU flags have neither vmx (Intel VT-x) nor svm (AMD-V): hardware virtualization is missing or disabled in the BIOS/UEFI").
		Saw("no vmx/svm flag", want).
		Remedy("enable Intel VT-x (\"Intel Virtualization Technology\") or AMD-V (\"SVM Mode\") in the BIOS/UEFI setup and power-cycle the server, then %s and check with `grep -E -c 'vmx|svm' /proc/cpuinfo`", modprobe(kvmModule(info)))
}

func kvmDevice(_ context.Context, h *host.Host) preflight.Result {
	if !h.Live {
		return judgeKVMDevice(host.ErrNotLive, "")
	}
	module := ""
	if b, err := h.ReadFile(cpuinfoPath); err == nil {
		if info, err := parseCPUInfo(b); err == nil {
			module = kvmModule(info)
		}
	}
	return judgeKVMDevice(h.Kernel.OpenDevice(kvmPath), module)
}

// judgeKVMDevice decides cpu.kvm-device from the result of opening /dev/kvm.
func judgeKVMDevice(err error, module string) preflight.Result {
	const want = "/dev/kvm exists and opens read-write"
	boot := "list the module in /etc/modules-load.d/kvm.conf to load it at boot"
	if module != "" {
		boot = fmt.Sprintf("load it at boot with `echo %s > /etc/modules-load.d/kvm.conf`", module)
	}
	enable := fmt.Sprintf("enable Intel VT-x / AMD-V (SVM) in the BIOS/UEFI setup, then %s; `dmesg | grep -i kvm` says \"disabled by bios\" when the firmware still blocks it; %s", modprobe(module), boot)
	switch {
	case err == nil:
		return preflight.Passf("/dev/kvm exists and opens read-write: KVM is usable").Saw("usable", want)
	case errors.Is(err, host.ErrNotLive):
		return preflight.Skipf("/dev/kvm can only be opened on the live host, not under --root").Saw("not checked (--root)", want)
	case errors.Is(err, fs.ErrNotExist):
		return preflight.Failf("/dev/kvm does not exist: the KVM module is not loaded or virtualization is disabled in the BIOS/UEFI").
			Saw("missing", want).Remedy("%s", enable)
	case errors.Is(err, fs.ErrPermission):
		return preflight.Warnf("/dev/kvm exists but this user may not open it (%v)", err).
			Saw("permission denied", want).
			Remedy("run `vmnode preflight` as root; for libvirt, /dev/kvm should be `crw-rw---- root kvm` and the qemu user a member of the kvm group")
	}
	return preflight.Failf("/dev/kvm exists but cannot be opened (%v): the KVM module is not loaded or the CPU has virtualization disabled", err).
		Saw("unusable: "+err.Error(), want).Remedy("%s", enable)
}

func archCheck(h *host.Host, allowed []string) preflight.Result {
	if h.Live {
		m, err := h.Kernel.Machine()
		if err != nil || m == "" {
			return preflight.Errorf("could not read the machine type (uname -m): %v", err).
				Saw("unknown", expectArch(allowed))
		}
		return judgeArch(m, "uname -m", allowed)
	}
	info, r, ok := readCPUInfo(h)
	if !ok {
		return r
	}
	m := info.Arch()
	if m == "" {
		return preflight.Errorf("cannot tell the CPU architecture from %s: it has neither the x86 fields (vendor_id, flags) nor the ARM ones (CPU implementer, Features)", cpuinfoPath).
			Saw("unknown", expectArch(allowed))
	}
	return judgeArch(m, "inferred from /proc/cpuinfo under --root", allowed)
}

func normArch(a string) string {
	switch a = strings.TrimSpace(a); a {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return a
}

func isARM(a string) bool { return a == "aarch64" || strings.HasPrefix(a, "arm") }

func expectArch(allowed []string) string {
	if len(allowed) == 0 {
		return "any"
	}
	return "one of " + strings.Join(allowed, ", ")
}

// judgeArch decides cpu.arch for machine (a `uname -m` value) found by source.
func judgeArch(machine, source string, allowed []string) preflight.Result {
	m := normArch(machine)
	want := expectArch(allowed)
	if len(allowed) == 0 {
		return preflight.Passf("%s (%s); the profile accepts any architecture", m, source).Saw(m, want)
	}
	for _, a := range allowed {
		if normArch(a) == m {
			return preflight.Passf("%s (%s)", m, source).Saw(m, want)
		}
	}
	if isARM(m) {
		return preflight.Failf("Processors with ARM architecture are not supported: this host is %s (%s); the profile requires %s", m, source, strings.Join(allowed, ", ")).
			Saw(m, want).
			Remedy("use a server with an Intel or AMD x86_64 processor")
	}
	return preflight.Failf("the %s architecture is not supported (%s); the profile requires %s", m, source, strings.Join(allowed, ", ")).
		Saw(m, want).
		Remedy("use a server with an Intel or AMD x86_64 processor and install the 64-bit (x86_64) edition of the OS")
}

// expectAtLeast renders a Range as expected text.
func expectAtLeast(min, rec, unit string, hasMin, hasRec bool) string {
	switch {
	case hasMin && hasRec:
		return fmt.Sprintf(">= %s%s (recommended >= %s%s)", min, unit, rec, unit)
	case hasMin:
		return fmt.Sprintf(">= %s%s", min, unit)
	case hasRec:
		return fmt.Sprintf("recommended >= %s%s", rec, unit)
	}
	return "no requirement"
}

// judgeCores decides cpu.cores for n logical CPUs in sockets sockets (0
// when unknown).
func judgeCores(n, sockets int, r profiles.Range[int]) preflight.Result {
	want := expectAtLeast(fmt.Sprint(r.Min), fmt.Sprint(r.Recommended), "", r.Min > 0, r.Recommended > 0)
	found := fmt.Sprintf("%d logical CPUs", n)
	if sockets > 0 {
		found += fmt.Sprintf(" in %d socket", sockets)
		if sockets > 1 {
			found += "s"
		}
	}
	obs := fmt.Sprint(n)
	more := "check that none is disabled: compare `lscpu` with the processor's specification, the BIOS/UEFI (cores enabled, Hyper-Threading/SMT on) and the `maxcpus=`/`nr_cpus=` kernel parameters; otherwise use a server with more cores"
	switch {
	case r.Min > 0 && n < r.Min:
		return preflight.Failf("%s; the profile requires at least %d", found, r.Min).Saw(obs, want).
			Remedy("the node needs at least %d logical CPUs (cores × threads): %s", r.Min, more)
	case r.Recommended > 0 && n < r.Recommended:
		return preflight.Warnf("%s; %d or more are recommended", found, r.Recommended).Saw(obs, want).
			Remedy("%d logical CPUs (cores × threads) are recommended: %s", r.Recommended, more)
	}
	return preflight.Passf("%s", found).Saw(obs, want)
}

// freqReading is a frequency and where it came from.
type freqReading struct {
	MHz    float64
	Source string
	// Measured is true for "cpu MHz", the current speed the kernel measured,
	// which may sit a little below (idle scaling: far below) the rating.
	Measured bool
}

func frequencyCheck(h *host.Host, r profiles.Range[profiles.MHz]) preflight.Result {
	f, res, ok := readFrequency(h, r)
	if !ok {
		return res
	}
	return judgeFrequency(f, r)
}

// readFrequency finds the rated frequency: cpufreq's cpuinfo_max_freq, else
// the "@ 2.40GHz" rating in the model name, else the highest "cpu MHz".
func readFrequency(h *host.Host, r profiles.Range[profiles.MHz]) (freqReading, preflight.Result, bool) {
	want := expectFreq(r)
	if h.Exists(maxFreqPath) {
		b, err := h.ReadFile(maxFreqPath)
		if err != nil {
			return freqReading{}, preflight.Errorf("could not read the rated frequency: %v", err).Saw("unreadable", want), false
		}
		mhz, err := parseKHz(b)
		if err != nil {
			return freqReading{}, preflight.Errorf("%s: %v", maxFreqPath, err).Saw("unparsable", want), false
		}
		return freqReading{MHz: mhz, Source: "cpufreq cpuinfo_max_freq"}, preflight.Result{}, true
	}
	info, res, ok := readCPUInfo(h)
	if !ok {
		res.Expected = want
		return freqReading{}, res, false
	}
	if mhz, ok := ratedMHz(info.Model()); ok {
		return freqReading{MHz: mhz, Source: fmt.Sprintf("the rating in the model name %q", info.Model())}, preflight.Result{}, true
	}
	if mhz := info.MaxMHz(); mhz > 0 {
		return freqReading{MHz: mhz, Source: "cpu MHz in /proc/cpuinfo: the current speed, as there is no cpufreq and no rating in the model name", Measured: true}, preflight.Result{}, true
	}
	return freqReading{}, preflight.Errorf("cannot tell the CPU frequency: no cpufreq (%s), no \"@ N GHz\" rating in the model name and no cpu MHz in %s", maxFreqPath, cpuinfoPath).
		Saw("unknown", want).
		Remedy("load the cpufreq driver for the platform (e.g. `modprobe acpi-cpufreq` or `cppc_cpufreq`) and compare the processor's specification with the profile by hand"), false
}

func expectFreq(r profiles.Range[profiles.MHz]) string {
	return expectAtLeast(r.Min.String(), r.Recommended.String(), "", r.Min > 0, r.Recommended > 0)
}

// measuredSlack lets a measured "cpu MHz" of 2399.998 meet a 2.4 GHz
// requirement: the kernel's calibration is not exact.
const measuredSlack = 0.99

// judgeFrequency decides cpu.frequency.
func judgeFrequency(f freqReading, r profiles.Range[profiles.MHz]) preflight.Result {
	want := expectFreq(r)
	got := profiles.MHz(f.MHz)
	obs := fmt.Sprintf("%s (%s)", got, shortSource(f))
	slack := 1.0
	if f.Measured {
		slack = measuredSlack
	}
	below := func(t profiles.MHz) bool { return t > 0 && f.MHz < float64(t)*slack }
	hint := "frequency scaling and power profiles do not change the rating: the processor model decides it"
	if f.Measured {
		hint = "cpufreq is not available, so this is the current speed, which power saving lowers: load the cpufreq driver (`modprobe acpi-cpufreq`) or set the BIOS/UEFI power profile to maximum performance, then re-run; if the rating is really this low, use a faster processor"
	}
	verb := "is rated at"
	if f.Measured {
		verb = "runs at"
	}
	switch {
	case below(r.Min):
		return preflight.Failf("the CPU %s %s (from %s); the profile requires at least %s", verb, got, f.Source, r.Min).
			Saw(obs, want).Remedy("use a server whose processor is rated at %s or more; %s", r.Min, hint)
	case below(r.Recommended):
		return preflight.Warnf("the CPU %s %s (from %s); %s or more is recommended", verb, got, f.Source, r.Recommended).
			Saw(obs, want).Remedy("a processor rated at %s or more is recommended for VM workloads; %s", r.Recommended, hint)
	}
	return preflight.Passf("the CPU %s %s (from %s)", verb, got, f.Source).Saw(obs, want)
}

func shortSource(f freqReading) string {
	switch {
	case f.Measured:
		return "cpu MHz"
	case strings.HasPrefix(f.Source, "cpufreq"):
		return "cpufreq"
	}
	return "model name"
}
