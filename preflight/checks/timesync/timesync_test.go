package timesync

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/checktest"
	"github.com/vmnode/vmnode/preflight/checks/timesync/chronydtest"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
)

func profile(t *testing.T) *profiles.Profile {
	t.Helper()
	return checktest.Profile(t, "vmmanager-kvm")
}

func run(t *testing.T, p *profiles.Profile, id string, h *host.Host) preflight.Result {
	t.Helper()
	return checktest.Run(t, Checks(p), id, h)
}

func TestSyncServiceTrees(t *testing.T) {
	tests := []struct {
		tree   string
		status preflight.Status
		remedy string
	}{
		{"almalinux-8.9", preflight.Pass, ""},
		{"debian-12", preflight.Pass, ""},
		{"ubuntu-20.04", preflight.Pass, ""},
		{"centos-7", preflight.Fail, "systemctl enable --now chronyd"},
		{"ubuntu-22.04-arm64", preflight.Fail, "systemctl unmask chrony && systemctl enable --now chrony"},
	}
	for _, tt := range tests {
		t.Run(tt.tree, func(t *testing.T) {
			r := run(t, profile(t), "time.sync-service", hosttest.Tree(t, tt.tree))
			if r.Status != tt.status || r.Remediation != tt.remedy {
				t.Errorf("%s %q remedy %q; want %s remedy %q", r.Status, r.Message, r.Remediation, tt.status, tt.remedy)
			}
			if r.Status == preflight.Fail && r.Fix != "time" {
				t.Errorf("fix = %q, want time", r.Fix)
			}
		})
	}
}

func TestSyncServiceNotInstalled(t *testing.T) {
	dir := checktest.WriteTree(t, map[string]string{"var/lib/dpkg/status": ""})
	r := run(t, profile(t), "time.sync-service", hosttest.Rooted(t, dir))
	if r.Status != preflight.Fail || r.Remediation != "apt-get install -y chrony && systemctl enable --now chronyd" {
		t.Errorf("%s %q %q", r.Status, r.Message, r.Remediation)
	}
}

var chronyTests = []struct {
	name              string
	in                string
	servers, includes []string
	err               bool
}{
	{"debian default", "confdir /etc/chrony/conf.d\npool 2.debian.pool.ntp.org iburst\nsourcedir /run/chrony-dhcp\nsourcedir /etc/chrony/sources.d\nkeyfile /etc/chrony/chrony.keys\n",
		[]string{"2.debian.pool.ntp.org"}, []string{"/etc/chrony/conf.d/*.conf", "/run/chrony-dhcp/*.sources", "/etc/chrony/sources.d/*.sources"}, false},
	{"servers and ports", "server 127.0.0.1 port 11123 iburst\nserver ::1 port 123\nServer ntp.example.net\n! comment\n% c\n; c\n# server commented.example\n",
		[]string{"127.0.0.1:11123", "[::1]:123", "ntp.example.net"}, nil, false},
	{"include", "include /etc/chrony.d/*.conf\nconfdir /a /b\n", nil, []string{"/etc/chrony.d/*.conf", "/a/*.conf", "/b/*.conf"}, false},
	{"server without host", "server\n", nil, nil, true},
	{"bad port", "server x port seventy\n", nil, nil, true},
	{"port missing", "server x port\n", nil, nil, true},
	{"binary", "\x00\x01", nil, nil, true},
}

func TestParseChronyConf(t *testing.T) {
	for _, tt := range chronyTests {
		s, inc, err := ParseChronyConf([]byte(tt.in))
		if (err != nil) != tt.err {
			t.Errorf("%s: err %v", tt.name, err)
			continue
		}
		if !slices.Equal(s, tt.servers) || !slices.Equal(inc, tt.includes) {
			t.Errorf("%s: %q %q, want %q %q", tt.name, s, inc, tt.servers, tt.includes)
		}
	}
}

func FuzzParseChronyConf(f *testing.F) {
	for _, tt := range chronyTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _, err := ParseChronyConf(data)
		if err != nil && s != nil {
			t.Fatal("servers with an error")
		}
		_, _ = parseNTPConf(data)
		for _, x := range s {
			_ = isLoopback(x)
		}
	})
}

func TestIsLoopback(t *testing.T) {
	for s, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.1:11123": true, "127.1.2.3": true, "::1": true, "[::1]:123": true,
		"localhost": true, "localhost:123": true, "10.0.0.1": false, "pool.ntp.org": false, "[2001:db8::1]:123": false,
	} {
		if isLoopback(s) != want {
			t.Errorf("isLoopback(%q) != %v", s, want)
		}
	}
}

// The servers come from the chrony configuration and its sourcedir files.
func TestServersFromTrees(t *testing.T) {
	p := profile(t)
	for tree, want := range map[string][]string{
		"debian-12":     {"2.debian.pool.ntp.org", "ntp1.example.net", "ntp2.example.net"},
		"almalinux-8.9": {"2.almalinux.pool.ntp.org"},
		"centos-7":      {"0.centos.pool.ntp.org", "1.centos.pool.ntp.org", "2.centos.pool.ntp.org", "3.centos.pool.ntp.org"},
		"ubuntu-20.04":  {"ntp.ubuntu.com", "0.ubuntu.pool.ntp.org", "1.ubuntu.pool.ntp.org", "2.ubuntu.pool.ntp.org"},
	} {
		got, _, err := configuredServers(hosttest.Tree(t, tree), p)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %q %v, want %q", tree, got, err, want)
		}
	}
}

func liveTree(t *testing.T, tree string, n hosttest.NTP) *host.Host {
	return hosttest.Live(t, hosttest.TreeDir(tree), &hosttest.Kernel{}, hosttest.Runner{}, n)
}

func TestOffsetScripted(t *testing.T) {
	p := profile(t)
	tests := []struct {
		name    string
		h       *host.Host
		status  preflight.Status
		message string
	}{
		{"under --root", hosttest.Tree(t, "almalinux-8.9"), preflight.Skip, "under --root"},
		{"in sync", liveTree(t, "almalinux-8.9", hosttest.NTP{"2.almalinux.pool.ntp.org": 3 * time.Millisecond}), preflight.Pass, "2.almalinux.pool.ntp.org"},
		{"warn", liveTree(t, "almalinux-8.9", hosttest.NTP{"2.almalinux.pool.ntp.org": -300 * time.Millisecond}), preflight.Warn, "-300ms"},
		{"fail", liveTree(t, "almalinux-8.9", hosttest.NTP{"2.almalinux.pool.ntp.org": 2 * time.Second}), preflight.Fail, "+2s"},
		{"unreachable", liveTree(t, "almalinux-8.9", hosttest.NTP{}), preflight.Warn, "no NTP server answered"},
		{"second server answers", liveTree(t, "centos-7", hosttest.NTP{"3.centos.pool.ntp.org": time.Millisecond}), preflight.Pass, "3.centos.pool.ntp.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, p, "time.ntp-offset", tt.h)
			if r.Status != tt.status || !strings.Contains(r.Message, tt.message) {
				t.Errorf("%s %q, want %s with %q", r.Status, r.Message, tt.status, tt.message)
			}
		})
	}
	h := liveTree(t, "almalinux-8.9", hosttest.NTP{"2.almalinux.pool.ntp.org": 0})
	h.Offline = true
	if r := run(t, p, "time.ntp-offset", h); r.Status != preflight.Skip || !strings.Contains(r.Message, "--offline") {
		t.Errorf("offline with a remote server: %s %q", r.Status, r.Message)
	}
	h = liveTree(t, "almalinux-8.9", hosttest.NTP{"127.0.0.1:11123": 0})
	h.Offline, h.NTPServers = true, []string{"127.0.0.1:11123"}
	if r := run(t, p, "time.ntp-offset", h); r.Status != preflight.Pass {
		t.Errorf("offline with a loopback server: %s %q", r.Status, r.Message)
	}
}

func TestOffsetBrokenConfig(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/chrony.conf"), []byte("server\n"), 0o644)
	h := hosttest.Live(t, dir, &hosttest.Kernel{}, hosttest.Runner{}, hosttest.NTP{})
	if r := run(t, profile(t), "time.ntp-offset", h); r.Status != preflight.Error {
		t.Errorf("broken chrony.conf: %s %q", r.Status, r.Message)
	}
	os.WriteFile(filepath.Join(dir, "etc/chrony.conf"), []byte("driftfile /x\n"), 0o644)
	if r := run(t, profile(t), "time.ntp-offset", h); r.Status != preflight.Warn || !strings.Contains(r.Message, "no NTP server configured") {
		t.Errorf("no servers: %s %q", r.Status, r.Message)
	}
}

func liveWith(t *testing.T, servers ...string) *host.Host {
	h := hosttest.Live(t, hosttest.TreeDir("debian-12"), &hosttest.Kernel{}, hosttest.Runner{}, nil)
	h.NTP = host.NTPClient{Timeout: time.Second}
	h.NTPServers = servers
	h.Offline = true // loopback only: allowed, and proves nothing leaves the host
	return h
}

func query(ctx context.Context, s string) (time.Duration, error) {
	return host.NTPClient{Timeout: time.Second}.Offset(ctx, s)
}

// The whole check against a real chronyd on loopback.
func TestOffsetAgainstChronyd(t *testing.T) {
	addr := chronydtest.Chronyd(t, chronydtest.Options{Query: query})
	r := run(t, profile(t), "time.ntp-offset", liveWith(t, addr))
	if r.Status != preflight.Pass {
		t.Errorf("%s %q", r.Status, r.Message)
	}
}

// chronyd 30 s ahead (faketime): the check fails and reports about +30s.
func TestOffsetAgainstSkewedChronyd(t *testing.T) {
	addr := chronydtest.Chronyd(t, chronydtest.Options{Skew: "+30s", Query: query})
	r := run(t, profile(t), "time.ntp-offset", liveWith(t, addr))
	if r.Status != preflight.Fail || !about30s(r.Observed) {
		t.Errorf("%s %q observed %q", r.Status, r.Message, r.Observed)
	}
}

// about30s: the observed offset is 30 s ahead, give or take the few
// microseconds the exchange takes ("+30s", "+29.999997s").
func about30s(observed string) bool {
	return strings.Contains(observed, "+30") || strings.Contains(observed, "+29.99")
}

// The in-process responder 30 s ahead, behind a dead first server: the
// check tries the next one, then fails on the offset.
func TestOffsetAgainstResponder(t *testing.T) {
	resp := chronydtest.Respond(t, 30*time.Second)
	r := run(t, profile(t), "time.ntp-offset", liveWith(t, "127.0.0.1:1", resp.Addr))
	if r.Status != preflight.Fail || !strings.Contains(r.Message, resp.Addr) || !about30s(r.Observed) {
		t.Errorf("%s %q observed %q", r.Status, r.Message, r.Observed)
	}
	r = run(t, profile(t), "time.ntp-offset", liveWith(t, "127.0.0.1:1"))
	if r.Status != preflight.Warn || !strings.Contains(r.Message, "no NTP server answered") {
		t.Errorf("unreachable: %s %q", r.Status, r.Message)
	}
}
