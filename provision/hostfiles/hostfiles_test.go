package hostfiles

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/checks/checktest"
	"github.com/vmnode/vmnode/preflight/checks/network"
	"github.com/vmnode/vmnode/preflight/checks/system"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
)

var addr = netip.MustParseAddr("10.20.30.47")

func TestEnsureHostsEntry(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"append", "127.0.0.1 localhost\n", "127.0.0.1 localhost\n10.20.30.47 node7.lab.example node7\n"},
		{"empty file", "", "10.20.30.47 node7.lab.example node7\n"},
		{"already right, odd whitespace kept", "127.0.0.1\tlocalhost\n10.20.30.47\t node7.lab.example   node7  # me\n",
			"127.0.0.1\tlocalhost\n10.20.30.47\t node7.lab.example   node7  # me\n"},
		{"correct the names, keep aliases and comment", "# hosts\n10.20.30.47 old.name  alias # node\n::1 localhost\n",
			"# hosts\n10.20.30.47 node7.lab.example node7 old.name alias # node\n::1 localhost\n"},
		{"crlf kept", "127.0.0.1 localhost\r\n# c\r\n", "127.0.0.1 localhost\r\n# c\r\n10.20.30.47 node7.lab.example node7\r\n"},
		{"no final newline", "127.0.0.1 localhost", "127.0.0.1 localhost\n10.20.30.47 node7.lab.example node7\n"},
		{"127.0.1.1 line kept", "127.0.1.1 node7.lab.example node7\n", "127.0.1.1 node7.lab.example node7\n10.20.30.47 node7.lab.example node7\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(ensureHostsEntry([]byte(c.in), addr, "node7.lab.example"))
			if got != c.want {
				t.Errorf("got\n%q\nwant\n%q", got, c.want)
			}
			if again := string(ensureHostsEntry([]byte(got), addr, "node7.lab.example")); again != got {
				t.Errorf("not idempotent:\n%q", again)
			}
		})
	}
}

func TestDisableSELinux(t *testing.T) {
	in := "# This file controls the state of SELinux\nSELINUX=enforcing\nSELINUXTYPE=targeted\n"
	want := "# This file controls the state of SELinux\nSELINUX=disabled\nSELINUXTYPE=targeted\n"
	if got := string(disableSELinux([]byte(in))); got != want {
		t.Errorf("got %q", got)
	}
	if got := string(disableSELinux([]byte("SELINUXTYPE=targeted\r\n"))); got != "SELINUXTYPE=targeted\r\nSELINUX=disabled\r\n" {
		t.Errorf("append with crlf: %q", got)
	}
}

func TestChronyBlockAndInclude(t *testing.T) {
	in := "pool 2.debian.pool.ntp.org iburst\n"
	one := string(chronyBlock([]byte(in), []string{"10.0.0.1", "10.0.0.2"}))
	if !strings.Contains(one, "pool 2.debian.pool.ntp.org iburst\n"+blockBegin+"\nserver 10.0.0.1 iburst\nserver 10.0.0.2 iburst\n"+blockEnd+"\n") {
		t.Errorf("block: %q", one)
	}
	two := string(chronyBlock([]byte(one), []string{"10.0.0.3"}))
	if strings.Count(two, blockBegin) != 1 || strings.Contains(two, "10.0.0.1") || !strings.Contains(two, "server 10.0.0.3 iburst") {
		t.Errorf("replace: %q", two)
	}
	conf := "#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n}\n"
	got := string(withInclude([]byte(conf), `include "/etc/vmnode/nftables.nft"`))
	if !strings.Contains(got, "flush ruleset\ninclude \"/etc/vmnode/nftables.nft\"\n\ntable inet filter") {
		t.Errorf("include must follow flush ruleset: %q", got)
	}
	if again := string(withInclude([]byte(got), `include "/etc/vmnode/nftables.nft"`)); again != got {
		t.Errorf("include added twice: %q", again)
	}
}

// copyTree copies a fixture tree into a temp dir (cp -a keeps symlinks).
func copyTree(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", hosttest.TreeDir(name)+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

func rooted(root string) *host.Host {
	return &host.Host{Root: root, Files: host.RootFS(root), Exec: host.NotLive{}, Kernel: host.NotLive{}, NTP: host.NotLive{}, Clock: time.Now}
}

// Apply on copies of real fixture trees, twice: the second plan is empty and
// the preflight checks these steps fix pass afterwards.
func TestStepsFixWhatPreflightFlags(t *testing.T) {
	cases := []struct {
		tree     string
		hostname string
		dns      []netip.Addr
		check    string
		checks   func(*profiles.Profile) []preflight.Check
		step     func(ed *files.Editor, hostname string, dns []netip.Addr) provision.Step
	}{
		{"ubuntu-20.04", "", nil, "network.hosts-entry", network.Checks,
			func(ed *files.Editor, h string, _ []netip.Addr) provision.Step { return Hosts(ed, addr, h) }},
		{"centos-7", "", nil, "selinux.disabled", system.Checks,
			func(ed *files.Editor, _ string, _ []netip.Addr) provision.Step { return SELinux(ed) }},
		{"ubuntu-22.04-arm64", "", []netip.Addr{netip.MustParseAddr("10.0.0.53")}, "network.resolv-conf", network.Checks,
			func(ed *files.Editor, _ string, dns []netip.Addr) provision.Step { return Resolver(ed, dns) }},
		{"centos-7", "", []netip.Addr{netip.MustParseAddr("10.0.0.53")}, "network.resolv-conf", network.Checks,
			func(ed *files.Editor, _ string, dns []netip.Addr) provision.Step { return Resolver(ed, dns) }},
	}
	p := checktest.Profile(t, "vmmanager-kvm")
	for _, c := range cases {
		t.Run(c.tree+"/"+c.check, func(t *testing.T) {
			root := copyTree(t, c.tree)
			h := rooted(root)
			h.Address = addr
			b, _ := os.ReadFile(filepath.Join(root, "etc/hostname"))
			h.Hostname = strings.TrimSpace(string(b))
			if r := checktest.Run(t, c.checks(p), c.check, h); r.Status == preflight.Pass {
				t.Fatalf("fixture already passes %s: %s", c.check, r.Message)
			}
			ed := files.NewEditor(root, time.Unix(1000, 0))
			steps := []provision.Step{c.step(ed, h.Hostname, c.dns)}
			out := provision.Apply(context.Background(), steps, ed)
			if out.Err != nil || !out.Converged() || len(out.Applied) != 1 {
				t.Fatalf("apply: %+v", out)
			}
			if r := checktest.Run(t, c.checks(p), c.check, h); r.Status != preflight.Pass {
				t.Errorf("after provision %s: %s %s", c.check, r.Status, r.Message)
			}
			again := provision.Apply(context.Background(), steps, files.NewEditor(root, time.Unix(2000, 0)))
			if len(again.Applied) != 0 || !again.Converged() {
				t.Errorf("second apply changed something: %+v", again.Applied)
			}
		})
	}
}

func TestResolverNeverGuessesServers(t *testing.T) {
	root := copyTree(t, "ubuntu-22.04-arm64")
	ed := files.NewEditor(root, time.Unix(1000, 0))
	_, err := Resolver(ed, nil).Plan(context.Background())
	if err == nil || !strings.Contains(err.Error(), "provision.dns") {
		t.Errorf("err = %v", err)
	}
}

// A step that fails midway: the files it already wrote are restored.
func TestFailedStepLeavesFilesAsTheyWere(t *testing.T) {
	root := copyTree(t, "centos-7")
	before, _ := os.ReadFile(filepath.Join(root, "etc/hosts"))
	ed := files.NewEditor(root, time.Unix(1000, 0))
	calls := 0
	bad := &fileStep{name: "bad", ed: ed, desired: func(*files.Editor) ([]Edit, []string, error) {
		edits := []Edit{{Path: "/etc/hosts", Content: []byte("changed\n"), Mode: 0o644}}
		if calls++; calls > 1 { // at apply time only: /etc/hosts is a file, not a directory
			edits = append(edits, Edit{Path: "/etc/hosts/impossible", Content: []byte("x"), Mode: 0o644})
		}
		return edits, nil, nil
	}}
	out := provision.Apply(context.Background(), []provision.Step{bad}, ed)
	if out.Err == nil || out.Failed != "bad" || !strings.Contains(out.State, "undone") {
		t.Fatalf("outcome %+v", out)
	}
	after, _ := os.ReadFile(filepath.Join(root, "etc/hosts"))
	if string(after) != string(before) {
		t.Errorf("hosts left half-configured: %q", after)
	}
}
