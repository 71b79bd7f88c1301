package disk

import (
	"strings"
	"testing"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/checktest"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
)

func run(t *testing.T, p *profiles.Profile, h *host.Host) preflight.Result {
	t.Helper()
	return checktest.RunOnly(t, Checks(p), "disk.root", h)
}

func live(t *testing.T, k *hosttest.Kernel) *host.Host {
	return hosttest.Live(t, hosttest.TreeDir("almalinux-8.9"), k, hosttest.Runner{}, nil)
}

func TestRoot(t *testing.T) {
	kvm := checktest.Profile(t, "vmmanager-kvm") // 1 TB minimum, 2 TB recommended
	size := func(n uint64) *hosttest.Kernel { return &hosttest.Kernel{FSSize: map[string]uint64{"/": n}} }
	for _, tc := range []struct {
		name     string
		h        func(t *testing.T) *host.Host
		p        *profiles.Profile
		status   preflight.Status
		observed string
		contains []string
	}{
		{"--root skips", func(t *testing.T) *host.Host { return hosttest.Tree(t, "almalinux-8.9") }, kvm,
			preflight.Skip, "not checked (--root)", []string{"live host"}},
		// A disk sold as 1 TB: ext4 on LVM leaves about 0.98 TB for /.
		{"1 TB disk meets 1 TB", func(t *testing.T) *host.Host { return live(t, size(983_000_000_000)) }, kvm,
			preflight.Warn, "983 GB", []string{"2 TB or more is recommended"}},
		{"exactly the overhead", func(t *testing.T) *host.Host { return live(t, size(950_000_000_000)) }, kvm,
			preflight.Warn, "950 GB", nil},
		{"just below the overhead", func(t *testing.T) *host.Host { return live(t, size(949_999_999_999)) }, kvm,
			preflight.Fail, "950 GB", []string{"requires at least 1 TB (950 GB with filesystem overhead)"}},
		// The EL installer's default: 70 GB for /, the rest in /home.
		{"EL default layout", func(t *testing.T) *host.Host { return live(t, size(75_125_227_520)) }, kvm,
			preflight.Fail, "75.13 GB", []string{"75.13 GB"}},
		{"2 TB disk", func(t *testing.T) *host.Host { return live(t, size(1_967_000_000_000)) }, kvm,
			preflight.Pass, "1.97 TB", nil},
		{"vmnode profile", func(t *testing.T) *host.Host { return live(t, size(120_000_000_000)) }, checktest.Profile(t, "vmnode"),
			preflight.Warn, "120 GB", []string{"500 GB or more"}},
		{"no requirement", func(t *testing.T) *host.Host { return live(t, size(1_000_000)) }, &profiles.Profile{},
			preflight.Pass, "1 MB", nil},
		{"statfs fails", func(t *testing.T) *host.Host { return live(t, &hosttest.Kernel{}) }, kvm,
			preflight.Error, "unknown", []string{"statfs /"}},
		{"zero size", func(t *testing.T) *host.Host { return live(t, size(0)) }, kvm,
			preflight.Error, "0 B", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.p, tc.h(t))
			if r.Status != tc.status || r.Observed != tc.observed {
				t.Errorf("got %s %q, want %s %q (message %q)", r.Status, r.Observed, tc.status, tc.observed, r.Message)
			}
			checktest.MessageContains(t, r, tc.contains)
			if r.Expected == "" || ((r.Status == preflight.Warn || r.Status == preflight.Fail) && !strings.Contains(r.Remediation, "lvextend")) {
				t.Errorf("expected %q, remediation %q", r.Expected, r.Remediation)
			}
		})
	}
}

func TestExpectedNamesOverhead(t *testing.T) {
	got := expect(profiles.Range[profiles.Bytes]{Min: 1e12, Recommended: 2e12})
	want := ">= 1 TB (a filesystem of 950 GB or more, allowing 5% filesystem overhead); recommended >= 2 TB (a filesystem of 1.9 TB or more, allowing 5% filesystem overhead)"
	if got != want {
		t.Errorf("expect() =\n%s\nwant\n%s", got, want)
	}
}

func TestHuman(t *testing.T) {
	for in, want := range map[uint64]string{0: "0 B", 999: "999 B", 1000: "1 kB", 1_500_000: "1.5 MB", 983_000_000_000: "983 GB", 2e12: "2 TB", 1_967_400_000_000: "1.97 TB"} {
		if got := human(in); got != want {
			t.Errorf("human(%d) = %q, want %q", in, got, want)
		}
	}
}
