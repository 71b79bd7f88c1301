package cpu

import (
	"strings"
	"testing"
)

const x86Sample = `processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Gold 5115 CPU @ 2.40GHz
cpu MHz		: 1000.000
physical id	: 0
flags		: fpu lm vmx hypervisor
power management:

processor	: 1
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Gold 5115 CPU @ 2.40GHz
cpu MHz		: 1200.412
physical id	: 1
flags		: fpu lm vmx hypervisor
power management:

`

const armSample = `processor	: 0
BogoMIPS	: 50.00
Features	: fp asimd evtstrm aes
CPU implementer	: 0x41
CPU architecture: 8
CPU part	: 0xd0c

processor	: 1
BogoMIPS	: 50.00
Features	: fp asimd evtstrm aes
CPU implementer	: 0x41
CPU architecture: 8
CPU part	: 0xd0c

Hardware	: Ampere(R) Altra(R) Processor
`

// armv7Sample is the older 32-bit format: a "Processor" header (capital P)
// before the blocks.
const armv7Sample = "Processor\t: ARMv7 Processor rev 5 (v7l)\nprocessor\t: 0\nFeatures\t: half thumb fastmult vfp\nCPU implementer\t: 0x41\nCPU architecture: 7\n\nHardware\t: BCM2835\n"

var cpuinfoCases = []struct {
	name      string
	in        string
	wantErr   string
	n         int
	arch      string
	model     string
	sockets   int
	maxMHz    float64
	vmx, svm  bool
	extraKey  string
	extraWant string
}{
	{name: "x86", in: x86Sample, n: 2, arch: "x86_64", model: "Intel(R) Xeon(R) Gold 5115 CPU @ 2.40GHz", sockets: 2, maxMHz: 1200.412, vmx: true},
	{name: "x86 CRLF", in: strings.ReplaceAll(x86Sample, "\n", "\r\n"), n: 2, arch: "x86_64", model: "Intel(R) Xeon(R) Gold 5115 CPU @ 2.40GHz", sockets: 2, maxMHz: 1200.412, vmx: true},
	{name: "x86 32-bit", in: "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu svm\n", n: 1, arch: "i686", svm: true},
	{name: "aarch64", in: armSample, n: 2, arch: "aarch64", extraKey: "Hardware", extraWant: "Ampere(R) Altra(R) Processor"},
	{name: "armv7 header", in: armv7Sample, n: 1, arch: "armv7l", extraKey: "Processor", extraWant: "ARMv7 Processor rev 5 (v7l)"},
	{name: "no arch fields", in: "processor\t: 0\nbogomips\t: 1.0\n", n: 1, arch: ""},
	{name: "empty", in: "", wantErr: "no \"processor\" entries"},
	{name: "garbage", in: "\x00\x01\x02 this is not cpuinfo\n\n:::\n", wantErr: "no \"processor\" entries"},
	{name: "meminfo instead", in: "MemTotal:       24684092 kB\n", wantErr: "no \"processor\" entries"},
	{name: "bad processor number", in: "processor\t: zero\n", wantErr: `line 1: processor "zero"`},
	{name: "negative processor", in: "processor\t: -1\n", wantErr: "is not a CPU number"},
	{name: "bad cpu MHz", in: "processor\t: 0\ncpu MHz\t\t: fast\n", wantErr: `line 2: cpu MHz "fast"`},
}

func TestParseCPUInfo(t *testing.T) {
	for _, tc := range cpuinfoCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCPUInfo([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Processors) != tc.n {
				t.Errorf("processors = %d, want %d", len(got.Processors), tc.n)
			}
			if a := got.Arch(); a != tc.arch {
				t.Errorf("Arch() = %q, want %q", a, tc.arch)
			}
			if m := got.Model(); m != tc.model {
				t.Errorf("Model() = %q, want %q", m, tc.model)
			}
			if s := got.Sockets(); s != tc.sockets {
				t.Errorf("Sockets() = %d, want %d", s, tc.sockets)
			}
			if m := got.MaxMHz(); m != tc.maxMHz {
				t.Errorf("MaxMHz() = %v, want %v", m, tc.maxMHz)
			}
			if got.HasFlag("vmx") != tc.vmx || got.HasFlag("svm") != tc.svm {
				t.Errorf("vmx, svm = %v, %v; want %v, %v", got.HasFlag("vmx"), got.HasFlag("svm"), tc.vmx, tc.svm)
			}
			if tc.extraKey != "" && got.Extra[tc.extraKey] != tc.extraWant {
				t.Errorf("Extra[%q] = %q, want %q", tc.extraKey, got.Extra[tc.extraKey], tc.extraWant)
			}
		})
	}
}

func FuzzParseCPUInfo(f *testing.F) {
	for _, tc := range cpuinfoCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := parseCPUInfo(b)
		if err != nil {
			return
		}
		if len(info.Processors) == 0 {
			t.Fatal("parse succeeded without processors")
		}
		// The accessors the checks use must not panic on anything parsed.
		_, _, _, _ = info.Arch(), info.Model(), info.Sockets(), info.Vendor()
		if m := info.MaxMHz(); m < 0 {
			t.Fatalf("MaxMHz() = %v", m)
		}
	})
}

var ratedCases = []struct {
	model string
	mhz   float64
	ok    bool
}{
	{"Intel(R) Xeon(R) Gold 5115 CPU @ 2.40GHz", 2400, true},
	{"Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz", 3400, true},
	{"Intel(R) Pentium(R) III CPU @ 800MHz", 800, true},
	{"Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz", 2600, true},
	{"AMD EPYC 7302P 16-Core Processor", 0, false},
	{"Intel(R) Xeon(TM) CPU 2.40GHz", 0, false}, // no "@": not a rating we trust
	{"", 0, false},
	{"@ 0GHz", 0, false},
}

func TestRatedMHz(t *testing.T) {
	for _, tc := range ratedCases {
		got, ok := ratedMHz(tc.model)
		if got != tc.mhz || ok != tc.ok {
			t.Errorf("ratedMHz(%q) = %v, %v; want %v, %v", tc.model, got, ok, tc.mhz, tc.ok)
		}
	}
}

func FuzzRatedMHz(f *testing.F) {
	for _, tc := range ratedCases {
		f.Add(tc.model)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if mhz, ok := ratedMHz(s); ok && mhz <= 0 {
			t.Fatalf("ratedMHz(%q) = %v, true", s, mhz)
		}
	})
}

func TestParseKHz(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"2400000\n", 2400, true},
		{"2401000", 2401, true},
		{"", 0, false},
		{"0\n", 0, false},
		{"2.4GHz\n", 0, false},
		{"-1", 0, false},
	} {
		got, err := parseKHz([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseKHz(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
