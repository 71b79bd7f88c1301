package e2e

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type jsonReport struct {
	Profile    string   `json:"profile"`
	Hostname   string   `json:"hostname"`
	Address    string   `json:"address"`
	StartedAt  string   `json:"started_at"`
	DurationMS *float64 `json:"duration_ms"`
	Checks     []struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Status      string `json:"status"`
		Message     string `json:"message"`
		Remediation string `json:"remediation"`
		Ignored     bool   `json:"ignored"`
	} `json:"checks"`
	Summary map[string]int `json:"summary"`
	Notes   []string       `json:"notes"`
}

func decode(t *testing.T, r result) jsonReport {
	t.Helper()
	var rep jsonReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\nstdout: %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return rep
}

func (r jsonReport) status(id string) string {
	for _, c := range r.Checks {
		if c.ID == id {
			return c.Status
		}
	}
	return "absent"
}

// The contract IDs from the issue: automation depends on these names.
var contractIDs = []string{
	"cpu.virtualization", "cpu.kvm-device", "cpu.arch", "cpu.cores", "cpu.frequency",
	"memory.total", "disk.root", "os.release", "os.repositories", "packages.required",
	"selinux.disabled", "time.sync-service", "time.ntp-offset", "network.hostname",
	"network.static-ip", "network.hosts-entry", "network.resolv-conf", "network.gateway",
	"network.interface-names", "firewall.nftables-enabled", "firewall.ports",
	"hardware.motherboard", "shell.prompt",
}

func TestListChecksHasEveryContractID(t *testing.T) {
	r := vmnode(t, "preflight", "--list-checks")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, id := range contractIDs {
		if !strings.Contains(r.stdout, id+" ") {
			t.Errorf("--list-checks lacks %s", id)
		}
	}
}

func TestRootTreesProduceCompleteReports(t *testing.T) {
	cases := []struct {
		tree, profile string
		want          map[string]string // id -> status
	}{
		{"almalinux-8.9", "vmmanager-kvm", map[string]string{"os.release": "pass", "cpu.arch": "pass", "cpu.virtualization": "pass"}},
		{"centos-7", "vmmanager-kvm", map[string]string{"os.release": "fail", "selinux.disabled": "fail"}},
		{"ubuntu-22.04-arm64", "vmnode", map[string]string{"cpu.arch": "fail"}},
		{"ubuntu-20.04", "vmmanager-lxd", map[string]string{"os.release": "pass"}},
		{"debian-12", "vmnode", map[string]string{"os.release": "pass"}},
	}
	for _, c := range cases {
		t.Run(c.tree, func(t *testing.T) {
			r := vmnode(t, "preflight", "--root", tree(c.tree), "--profile", c.profile, "-o", "json")
			rep := decode(t, r)
			if r.code != 0 && r.code != 1 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			failed := rep.Summary["fail"]+rep.Summary["error"] > 0
			if failed != (r.code == 1) {
				t.Errorf("exit %d does not match summary %v", r.code, rep.Summary)
			}
			if rep.Profile != c.profile || rep.StartedAt == "" || rep.DurationMS == nil {
				t.Errorf("header: %+v", rep)
			}
			total := 0
			for _, n := range rep.Summary {
				total += n
			}
			if total != len(rep.Checks) || len(rep.Checks) == 0 {
				t.Errorf("summary %v does not count %d checks", rep.Summary, len(rep.Checks))
			}
			for _, ch := range rep.Checks {
				if !slices.Contains([]string{"pass", "warn", "fail", "skip", "error"}, ch.Status) {
					t.Errorf("%s: status %q", ch.ID, ch.Status)
				}
				if ch.Message == "" || ch.Title == "" {
					t.Errorf("%s: empty message or title", ch.ID)
				}
				if (ch.Status == "fail" || ch.Status == "warn") && ch.Remediation == "" {
					t.Errorf("%s: %s without a remediation: %s", ch.ID, ch.Status, ch.Message)
				}
			}
			// Under --root the live kernel and network are not there.
			for _, id := range []string{"disk.root", "time.ntp-offset", "network.gateway", "firewall.ports", "cpu.kvm-device"} {
				if s := rep.status(id); s != "skip" && s != "absent" {
					t.Errorf("%s under --root: %s, want skip", id, s)
				}
			}
			for id, want := range c.want {
				if got := rep.status(id); got != want {
					t.Errorf("%s = %s, want %s", id, got, want)
				}
			}
		})
	}
}

func TestEveryFormatRenders(t *testing.T) {
	root := tree("centos-7")
	text := vmnode(t, "preflight", "--root", root, "--profile", "vmmanager-kvm")
	if text.code != 1 || !strings.Contains(text.stdout, "selinux.disabled") || strings.Contains(text.stdout, "\x1b[") {
		t.Errorf("text (no colour when not a terminal): exit %d\n%s", text.code, text.stdout)
	}
	junit := vmnode(t, "preflight", "--root", root, "--profile", "vmmanager-kvm", "-o", "junit")
	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(junit.stdout), &suites); err != nil || len(suites.Suites) != 1 || suites.Suites[0].Failures == 0 {
		t.Errorf("junit: %v %+v\n%s", err, suites, junit.stdout)
	}
	html := vmnode(t, "preflight", "--root", root, "--profile", "vmmanager-kvm", "-o", "html")
	if !strings.Contains(html.stdout, "<html") || strings.Contains(html.stdout, "http://") && strings.Contains(html.stdout, "<link") {
		t.Errorf("html is not a self-contained page")
	}
	bad := vmnode(t, "preflight", "--root", root, "-o", "yaml")
	if bad.code != 2 || !strings.Contains(bad.stderr, "text") {
		t.Errorf("unknown format: exit %d %s", bad.code, bad.stderr)
	}
}

func TestIgnorePreflightErrors(t *testing.T) {
	root := tree("centos-7")
	all := vmnode(t, "preflight", "--root", root, "--profile", "vmmanager-kvm", "--ignore-preflight-errors", "all", "-o", "json")
	rep := decode(t, all)
	if all.code != 0 || rep.Summary["fail"] != 0 {
		t.Fatalf("ignore all: exit %d summary %v", all.code, rep.Summary)
	}
	ignored := 0
	for _, c := range rep.Checks {
		if c.Ignored {
			ignored++
			if c.Status != "warn" {
				t.Errorf("%s ignored but %s", c.ID, c.Status)
			}
		}
	}
	if ignored == 0 {
		t.Error("nothing marked ignored")
	}
	one := vmnode(t, "preflight", "--root", root, "--profile", "vmmanager-kvm", "--ignore-preflight-errors", "selinux.disabled", "-o", "json")
	if got := decode(t, one).status("selinux.disabled"); got != "warn" {
		t.Errorf("selinux.disabled ignored: %s", got)
	}
	unknown := vmnode(t, "preflight", "--root", root, "--ignore-preflight-errors", "cpu.warp")
	if unknown.code != 2 || !strings.Contains(unknown.stderr, "cpu.warp") {
		t.Errorf("unknown ignore ID: exit %d %s", unknown.code, unknown.stderr)
	}
}

func TestWaiversFromConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "vmnode.yaml")
	doc := `preflight:
  profile: vmmanager-kvm
  ignore:
    - {id: selinux.disabled, until: 2099-01-01, reason: "ticket OPS-12"}
    - {id: os.release, until: 2020-01-01, reason: "old"}
`
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	r := vmnode(t, "preflight", "--config", cfg, "--root", tree("centos-7"), "-o", "json")
	rep := decode(t, r)
	if rep.status("selinux.disabled") != "warn" || rep.status("os.release") != "fail" {
		t.Errorf("waived selinux %s, expired os.release %s", rep.status("selinux.disabled"), rep.status("os.release"))
	}
	if len(rep.Notes) == 0 || !strings.Contains(strings.Join(rep.Notes, " "), "expired") {
		t.Errorf("expired waiver not reported: %v", rep.Notes)
	}
}

func TestBadInputExitsTwoNamingFileLineKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	prof := write("site.yaml", "name: site\nos:\n  supported: [{id: debian}]\nmemory:\n  minimum: 8GiB\n")
	r := vmnode(t, "preflight", "--profile", prof, "--root", tree("debian-12"))
	if r.code != 2 || !strings.Contains(r.stderr, prof+":5") || !strings.Contains(r.stderr, "memory.minimum") {
		t.Errorf("bad profile: exit %d: %s", r.code, r.stderr)
	}
	check := write("check.yaml", "name: site\nos:\n  supported: [{id: debian}]\nchecks:\n  disable: [cpu.warp]\n")
	r = vmnode(t, "preflight", "--profile", check, "--root", tree("debian-12"))
	if r.code != 2 || !strings.Contains(r.stderr, "cpu.warp") || !strings.Contains(r.stderr, check+":5") {
		t.Errorf("unknown check ID: exit %d: %s", r.code, r.stderr)
	}
	cfg := write("vmnode.yaml", "preflight:\n  profil: x\n")
	r = vmnode(t, "preflight", "--config", cfg, "--root", tree("debian-12"))
	if r.code != 2 || !strings.Contains(r.stderr, cfg+":2") || !strings.Contains(r.stderr, "profil") {
		t.Errorf("bad config: exit %d: %s", r.code, r.stderr)
	}
	r = vmnode(t, "preflight", "--profile", "nosuch")
	if r.code != 2 || !strings.Contains(r.stderr, "vmmanager-kvm") {
		t.Errorf("unknown profile: exit %d: %s", r.code, r.stderr)
	}
	r = vmnode(t, "preflight", "--root", filepath.Join(dir, "missing"))
	if r.code != 2 {
		t.Errorf("missing root: exit %d: %s", r.code, r.stderr)
	}
	r = vmnode(t, "preflight", "--address", "not-an-ip", "--root", tree("debian-12"))
	if r.code != 2 || !strings.Contains(r.stderr, "not-an-ip") {
		t.Errorf("bad address: exit %d: %s", r.code, r.stderr)
	}
	r = vmnode(t, "preflight", "--no-such-flag")
	if r.code != 2 {
		t.Errorf("unknown flag: exit %d", r.code)
	}
}

func TestGarbageSystemFilesReportErrorNotPanic(t *testing.T) {
	root := t.TempDir()
	garbage := []byte("\x00\xff\xfe garbage \n=====\n\x01")
	for _, f := range []string{"proc/cpuinfo", "proc/meminfo", "etc/os-release", "etc/hosts", "etc/resolv.conf",
		"etc/selinux/config", "etc/chrony/chrony.conf", "var/lib/dpkg/status", "etc/network/interfaces", "etc/hostname"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, garbage, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := vmnode(t, "preflight", "--root", root, "-o", "json")
	rep := decode(t, r)
	if r.code != 1 || strings.Contains(r.stderr, "panic") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, c := range rep.Checks {
		if strings.Contains(c.Message, "panicked") {
			t.Errorf("%s panicked: %s", c.ID, c.Message)
		}
	}
	for _, id := range []string{"cpu.cores", "memory.total", "os.release"} {
		if s := rep.status(id); s != "error" && s != "fail" {
			t.Errorf("%s on garbage: %s", id, s)
		}
	}
}

func TestProfilesShowRoundTrips(t *testing.T) {
	list := vmnode(t, "profiles", "list")
	for _, name := range []string{"vmnode", "vmmanager-kvm", "vmmanager-lxd"} {
		if !strings.Contains(list.stdout, name) {
			t.Errorf("profiles list lacks %s:\n%s", name, list.stdout)
		}
	}
	show := vmnode(t, "profiles", "show", "vmmanager-kvm")
	file := filepath.Join(t.TempDir(), "kvm.yaml")
	if err := os.WriteFile(file, []byte(show.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	a := decode(t, vmnode(t, "preflight", "--root", tree("almalinux-8.9"), "--profile", "vmmanager-kvm", "-o", "json"))
	b := decode(t, vmnode(t, "preflight", "--root", tree("almalinux-8.9"), "--profile", file, "-o", "json"))
	if len(a.Checks) != len(b.Checks) {
		t.Fatalf("shown profile runs %d checks, built-in %d", len(b.Checks), len(a.Checks))
	}
	for i := range a.Checks {
		if a.Checks[i].Status != b.Checks[i].Status || a.Checks[i].Message != b.Checks[i].Message {
			t.Errorf("%s differs: %s %q vs %s %q", a.Checks[i].ID, a.Checks[i].Status, a.Checks[i].Message, b.Checks[i].Status, b.Checks[i].Message)
		}
	}
}

// The live run on this machine, offline: well under a second, every check
// accounted for, nothing sent off the host.
func TestLiveOfflineRun(t *testing.T) {
	start := time.Now()
	r := vmnode(t, "preflight", "--offline", "-o", "json")
	took := time.Since(start)
	rep := decode(t, r)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if s := rep.status("network.gateway"); s != "skip" {
		t.Errorf("network.gateway offline: %s", s)
	}
	if s := rep.status("cpu.arch"); s == "skip" || s == "error" {
		t.Errorf("cpu.arch live: %s", s)
	}
	if took > 5*time.Second {
		t.Errorf("live offline preflight took %s", took)
	}
	t.Logf("live offline preflight: %s, summary %v", took, rep.Summary)
}

func TestVersionAndCompletion(t *testing.T) {
	if r := vmnode(t, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "vmnode ") {
		t.Errorf("version: %d %q", r.code, r.stdout)
	}
	if r := vmnode(t, "completion", "bash"); r.code != 0 || !strings.Contains(r.stdout, "__start_vmnode") {
		t.Errorf("completion bash: %d", r.code)
	}
}
