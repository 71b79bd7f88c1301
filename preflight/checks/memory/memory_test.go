package memory

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/checktest"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
)

var meminfoCases = []struct {
	name      string
	in        string
	total     uint64
	available uint64
	wantErr   string
}{
	{name: "5.x", in: "MemTotal:       24684092 kB\nMemFree:        23903972 kB\nMemAvailable:   24194916 kB\nHugePages_Total:       0\n", total: 24684092 * 1024, available: 24194916 * 1024},
	{name: "2.6 without MemAvailable", in: "MemTotal:        8061508 kB\nMemFree:         7712000 kB\n", total: 8061508 * 1024},
	{name: "CRLF", in: "MemTotal:  1024 kB\r\n", total: 1 << 20},
	{name: "empty", in: "", wantErr: "no MemTotal"},
	{name: "garbage", in: "\x00\xff\xfe not meminfo", wantErr: "no MemTotal"},
	{name: "cpuinfo instead", in: "processor\t: 0\n", wantErr: "no MemTotal"},
	{name: "zero", in: "MemTotal: 0 kB\n", wantErr: "MemTotal is 0"},
	{name: "wrong unit", in: "MemTotal: 8 GB\n", wantErr: "not a size in kB"},
	{name: "not a number", in: "MemTotal: lots kB\n", wantErr: "line 1: MemTotal"},
	{name: "overflow", in: "MemTotal: 18446744073709551615 kB\n", wantErr: "not a size in kB"},
}

func TestParseMemInfo(t *testing.T) {
	for _, tc := range meminfoCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMemInfo([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != tc.total || got.Available != tc.available {
				t.Errorf("got %+v, want total %d available %d", got, tc.total, tc.available)
			}
		})
	}
}

func FuzzParseMemInfo(f *testing.F) {
	for _, tc := range meminfoCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMemInfo(b)
		if err != nil {
			return
		}
		if m.Total == 0 {
			t.Fatal("parse succeeded with MemTotal 0")
		}
		if e := estimateInstalled(m.Total); e < m.Total {
			t.Fatalf("estimate %d below MemTotal %d", e, m.Total)
		}
	})
}

func TestParseBlockSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"8000000\n", 128 << 20, true},
		{"80000000\n", 2 << 30, true},
		{"0x40000000", 1 << 30, true},
		{"", 0, false},
		{"0\n", 0, false},
		{"3000000\n", 0, false}, // not a power of two
		{"zz\n", 0, false},
	} {
		got, err := parseBlockSize([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseBlockSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseBlockSize(f *testing.F) {
	for _, s := range []string{"8000000\n", "80000000", "0x40000000", "", "0", "zz"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := parseBlockSize(b); err == nil && (n == 0 || n&(n-1) != 0) {
			t.Fatalf("accepted %d", n)
		}
	})
}

// TestEstimateInstalled: MemTotal of real servers maps back to what is
// installed, and a smaller machine is never rounded up past its size.
func TestEstimateInstalled(t *testing.T) {
	const kB = 1024
	for _, tc := range []struct {
		name     string
		memTotal uint64
		want     uint64
	}{
		{"8 GiB server, 7.6 GiB MemTotal", 7969177 * kB, 8 * gib},
		{"8 GiB server, 7.8 GiB MemTotal", 8178892 * kB, 8 * gib},
		{"16 GiB desktop (centos-7 fixture)", 16212084 * kB, 16 * gib},
		{"64 GiB server (almalinux-8.9 fixture)", 65237116 * kB, 64 * gib},
		{"128 GiB server (ubuntu-20.04 fixture)", 131780076 * kB, 128 * gib},
		{"7 GiB VM", 7050000 * kB, 7 * gib},
		{"exact GiB", 4 * gib, 5 * gib}, // 4 GiB of MemTotal means more is installed
	} {
		if got := estimateInstalled(tc.memTotal); got != tc.want {
			t.Errorf("%s: estimateInstalled(%d) = %s, want %s", tc.name, tc.memTotal, human(got), human(tc.want))
		}
	}
}

func run(t *testing.T, p *profiles.Profile, h *host.Host) preflight.Result {
	t.Helper()
	return checktest.RunOnly(t, Checks(p), "memory.total", h)
}

func tree(t *testing.T, files map[string]string) *host.Host {
	t.Helper()
	return hosttest.Rooted(t, checktest.WriteTree(t, files))
}

// blockTree is a sysfs memory tree of n online and off offline blocks of size.
func blockTree(size uint64, n, off int, meminfo string) map[string]string {
	files := map[string]string{"sys/devices/system/memory/block_size_bytes": fmt.Sprintf("%x\n", size)}
	for i := range n + off {
		state := "1\n"
		if i >= n {
			state = "0\n"
		}
		files[fmt.Sprintf("sys/devices/system/memory/memory%d/online", i)] = state
	}
	if meminfo != "" {
		files["proc/meminfo"] = meminfo
	}
	return files
}

func TestTotal(t *testing.T) {
	kvm := checktest.Profile(t, "vmmanager-kvm")
	for _, tc := range []struct {
		name     string
		h        func(t *testing.T) *host.Host
		p        *profiles.Profile
		status   preflight.Status
		observed string
		contains []string
	}{
		{"debian-12 sysfs blocks", func(t *testing.T) *host.Host { return hosttest.Tree(t, "debian-12") }, kvm,
			preflight.Pass, "24 GiB", []string{"192 online memory blocks of 128 MiB", "MemTotal 23.54 GiB"}},
		{"almalinux-8.9 from MemTotal", func(t *testing.T) *host.Host { return hosttest.Tree(t, "almalinux-8.9") }, kvm,
			preflight.Pass, "64 GiB", []string{"estimated from MemTotal 62.21 GiB"}},
		{"ubuntu-20.04", func(t *testing.T) *host.Host { return hosttest.Tree(t, "ubuntu-20.04") }, checktest.Profile(t, "vmmanager-lxd"),
			preflight.Pass, "128 GiB", nil},
		{"centos-7", func(t *testing.T) *host.Host { return hosttest.Tree(t, "centos-7") }, kvm,
			preflight.Pass, "16 GiB", nil},
		{"ubuntu-22.04-arm64", func(t *testing.T) *host.Host { return hosttest.Tree(t, "ubuntu-22.04-arm64") }, kvm,
			preflight.Pass, "256 GiB", nil},
		{"live view reads the same files", func(t *testing.T) *host.Host {
			return hosttest.Live(t, hosttest.TreeDir("debian-12"), &hosttest.Kernel{}, hosttest.Runner{}, nil)
		}, kvm, preflight.Pass, "24 GiB", nil},
		{"8 GiB server meets an 8 GiB minimum", func(t *testing.T) *host.Host {
			return tree(t, map[string]string{"proc/meminfo": "MemTotal:        7969177 kB\n"})
		}, kvm, preflight.Warn, "8 GiB", []string{"16 GiB or more is recommended"}},
		{"4 GiB fails", func(t *testing.T) *host.Host {
			return tree(t, map[string]string{"proc/meminfo": "MemTotal:        3880000 kB\n"})
		}, kvm, preflight.Fail, "4 GiB", []string{"requires at least 8 GiB"}},
		{"offline blocks named", func(t *testing.T) *host.Host {
			return tree(t, blockTree(128<<20, 48, 16, ""))
		}, kvm, preflight.Fail, "6 GiB", []string{"16 more blocks are offline"}},
		{"state file when online is absent", func(t *testing.T) *host.Host {
			return tree(t, map[string]string{
				"sys/devices/system/memory/block_size_bytes": "80000000\n",
				"sys/devices/system/memory/memory0/state":    "online\n",
				"sys/devices/system/memory/memory1/state":    "online\n",
				"proc/meminfo": "MemTotal: 3900000 kB\n",
			})
		}, kvm, preflight.Fail, "4 GiB", []string{"2 online memory blocks of 2 GiB"}},
		{"no requirement", func(t *testing.T) *host.Host { return hosttest.Tree(t, "centos-7") }, &profiles.Profile{},
			preflight.Pass, "16 GiB", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.p, tc.h(t))
			if r.Status != tc.status || r.Observed != tc.observed {
				t.Errorf("got %s %q, want %s %q (message %q)", r.Status, r.Observed, tc.status, tc.observed, r.Message)
			}
			checktest.MessageContains(t, r, tc.contains)
			if r.Expected == "" || ((r.Status == preflight.Warn || r.Status == preflight.Fail) && r.Remediation == "") {
				t.Errorf("expected %q, remediation %q", r.Expected, r.Remediation)
			}
		})
	}
}

func TestTotalErrors(t *testing.T) {
	p := checktest.Profile(t, "vmmanager-kvm")
	for _, tc := range []struct {
		name  string
		files map[string]string
		msg   string
	}{
		{"missing meminfo", map[string]string{"etc/hostname": "x\n"}, "could not read the memory size"},
		{"empty meminfo", map[string]string{"proc/meminfo": ""}, "no MemTotal"},
		{"garbage meminfo", map[string]string{"proc/meminfo": "\x00\x01MemTotal: many kB\n"}, "not what the kernel writes"},
		{"garbage block size", map[string]string{"proc/meminfo": "MemTotal: 8000000 kB\n", "sys/devices/system/memory/block_size_bytes": "big\n"}, "not a memory block size"},
		{"garbage online", map[string]string{
			"proc/meminfo": "MemTotal: 8000000 kB\n",
			"sys/devices/system/memory/block_size_bytes": "8000000\n",
			"sys/devices/system/memory/memory0/online":   "maybe\n",
		}, "neither online nor offline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, p, tree(t, tc.files))
			if r.Status != preflight.Error || !strings.Contains(r.Message, tc.msg) {
				t.Errorf("got %s %q, want error containing %q", r.Status, r.Message, tc.msg)
			}
		})
	}
}
