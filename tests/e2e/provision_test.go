package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies a fixture tree (symlinks kept) so a test may change it.
func copyTree(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", tree(name)+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

// snapshot is every file under dir with its content, minus vmnode's backups.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.Contains(p, "/var/lib/vmnode/") {
			return nil
		}
		b, _ := os.ReadFile(p)
		l, _ := os.Readlink(p)
		out[strings.TrimPrefix(p, dir)] = fmt.Sprintf("%v|%s|%s", info.Mode(), l, b)
		return nil
	})
	return out
}

func sameTree(t *testing.T, a, b map[string]string) {
	t.Helper()
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s changed", k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("%s appeared", k)
		}
	}
}

type provisionJSON struct {
	Plan []struct {
		Step    string            `json:"step"`
		Changes []json.RawMessage `json:"changes"`
	} `json:"plan"`
	Applied   []struct{ Step string } `json:"applied"`
	Failed    *struct{ Step, Error, State string }
	Converged bool `json:"converged"`
	Backups   string
}

func provisionRun(t *testing.T, args ...string) (provisionJSON, result) {
	t.Helper()
	r := vmnode(t, append([]string{"provision", "-o", "json"}, args...)...)
	var rep provisionJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("provision %v: not JSON (%v): exit %d\n%s\n%s", args, err, r.code, r.stdout, r.stderr)
	}
	return rep, r
}

// Plan changes nothing; apply converges and a second run changes nothing;
// preflight then passes what provisioning fixes; rollback restores it all.
func TestProvisionUnderRootConvergesAndPreflightPasses(t *testing.T) {
	root := copyTree(t, "centos-7")
	// centos-7 lacks nftables; give it the package's config so the firewall
	// step can persist its rules.
	os.MkdirAll(filepath.Join(root, "etc/sysconfig"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/sysconfig/nftables.conf"), []byte("#include \"/etc/nftables/main.nft\"\n"), 0o600)
	before := snapshot(t, root)
	cfg := filepath.Join(t.TempDir(), "vmnode.yaml")
	os.WriteFile(cfg, []byte("node:\n  address: 10.20.30.47\nprovision:\n  dns: [10.20.0.53]\n  ntp_servers: [10.20.0.123]\n"), 0o600)
	args := []string{"--config", cfg, "--root", root, "--profile", "vmmanager-kvm", "--skip", "services"}

	plan, r := provisionRun(t, append(args, "--plan")...)
	if r.code != 0 || len(plan.Plan) == 0 {
		t.Fatalf("plan: exit %d %s", r.code, r.stderr)
	}
	sameTree(t, before, snapshot(t, root))

	applied, r := provisionRun(t, args...)
	if r.code != 0 || !applied.Converged || applied.Failed != nil {
		t.Fatalf("apply: exit %d %+v %s", r.code, applied, r.stderr)
	}
	var steps []string
	for _, a := range applied.Applied {
		steps = append(steps, a.Step)
	}
	if got := strings.Join(steps, ","); got != "firewall,selinux,hosts,resolver,time" {
		t.Errorf("applied %s", got)
	}
	again, r := provisionRun(t, args...)
	if r.code != 0 || len(again.Applied) != 0 || !again.Converged {
		t.Errorf("second run changed something: %+v", again.Applied)
	}

	pf := decode(t, vmnode(t, "preflight", "--config", cfg, "--root", root, "--profile", "vmmanager-kvm", "-o", "json"))
	for _, id := range []string{"selinux.disabled", "network.hosts-entry", "network.resolv-conf"} {
		if s := pf.status(id); s != "pass" {
			t.Errorf("after provision, %s = %s", id, s)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/chrony.conf")); !strings.Contains(string(b), "server 10.20.0.123 iburst") {
		t.Errorf("chrony.conf lacks the configured server:\n%s", b)
	}

	rb := vmnode(t, "provision", "--root", root, "--rollback")
	if rb.code != 0 || !strings.Contains(rb.stdout, "/etc/hosts") {
		t.Fatalf("rollback: %d %s %s", rb.code, rb.stdout, rb.stderr)
	}
	sameTree(t, before, snapshot(t, root))
}

func TestProvisionBadInput(t *testing.T) {
	root := copyTree(t, "almalinux-8.9")
	before := snapshot(t, root)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--only", "firewal"}, 2, `unknown step "firewal"`},
		{[]string{"--address", "10.0.0.256"}, 2, "not an IP address"},
		{[]string{"-o", "yaml"}, 2, "text or json"},
		// The stub resolver without servers: vmnode never guesses them.
		{[]string{"--root", copyTree(t, "ubuntu-22.04-arm64"), "--only", "resolver"}, 1, "provision.dns"},
	} {
		r := vmnode(t, append([]string{"provision", "--root", root}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	sameTree(t, before, snapshot(t, root))
	if r := vmnode(t, "provision", "--root", t.TempDir(), "--rollback"); r.code == 0 || !strings.Contains(r.stderr, "nothing to roll back") {
		t.Errorf("rollback without backups: %d %s", r.code, r.stderr)
	}
}

// The live firewall step against the real kernel, inside a network
// namespace and a private mount namespace so neither this machine's
// ruleset nor its /etc is touched.
func TestProvisionFirewallLiveInNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	for _, bin := range []string{"ip", "nft", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	ns := fmt.Sprintf("vmnode-e2e-%d", rand.IntN(1e6))
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	exec.Command("ip", "netns", "exec", ns, "nft", "add table inet other; add chain inet other c { type filter hook input priority 10; }; add rule inet other c tcp dport 9 drop").Run()
	otherBefore, _ := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "other").Output()

	etc := t.TempDir()
	os.WriteFile(filepath.Join(etc, "nftables.conf"), []byte("#!/usr/sbin/nft -f\n\nflush ruleset\n"), 0o755)
	script := fmt.Sprintf(`set -e
mount -t tmpfs tmpfs /var/lib/vmnode 2>/dev/null || { mkdir -p /var/lib/vmnode && mount -t tmpfs tmpfs /var/lib/vmnode; }
mkdir -p /etc/vmnode && mount -t tmpfs tmpfs /etc/vmnode
mount --bind %s/nftables.conf /etc/nftables.conf
%s provision --only firewall --profile vmnode -o json
%s provision --only firewall --profile vmnode -o json --plan
cp /etc/vmnode/nftables.nft %s/persisted.nft
`, etc, vmnodeBin, vmnodeBin, etc)
	cmd := exec.Command("ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("provision in namespace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"converged": true`) || strings.Count(string(out), `"step": "firewall"`) < 2 {
		t.Errorf("output:\n%s", out)
	}
	ruleset, _ := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "vmnode").CombinedOutput()
	for _, want := range []string{"tcp dport 22 accept", "tcp dport 7946 accept", "udp dport 4789 accept", "tcp dport 49152-49215 accept"} {
		if !strings.Contains(string(ruleset), want) {
			t.Errorf("table inet vmnode lacks %q:\n%s", want, ruleset)
		}
	}
	otherAfter, _ := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "other").Output()
	if string(otherAfter) != string(otherBefore) {
		t.Errorf("another table changed:\n%s\nvs\n%s", otherBefore, otherAfter)
	}
	conf, _ := os.ReadFile(filepath.Join(etc, "nftables.conf"))
	if !strings.Contains(string(conf), "flush ruleset\ninclude \"/etc/vmnode/nftables.nft\"") {
		t.Errorf("nftables.conf does not include vmnode's rules:\n%s", conf)
	}
	if out, err := exec.Command("nft", "-c", "-f", filepath.Join(etc, "persisted.nft")).CombinedOutput(); err != nil {
		t.Errorf("persisted rules do not load: %v %s", err, out)
	}
}

// Under --root the services step enables units with links, as systemctl
// --root does, and preflight then sees them enabled.
func TestProvisionServicesUnderRoot(t *testing.T) {
	root := copyTree(t, "debian-12")
	args := []string{"--root", root, "--profile", "vmmanager-kvm"}
	if s := decode(t, vmnode(t, append([]string{"preflight", "-o", "json"}, args...)...)).status("firewall.nftables-enabled"); s != "fail" {
		t.Fatalf("fixture: firewall.nftables-enabled = %s, want fail", s)
	}
	rep, r := provisionRun(t, append(args, "--only", "services,time")...)
	if r.code != 0 || !rep.Converged || len(rep.Applied) != 1 || rep.Applied[0].Step != "services" {
		t.Fatalf("exit %d %+v %s", r.code, rep, r.stderr)
	}
	pf := decode(t, vmnode(t, append([]string{"preflight", "-o", "json"}, args...)...))
	for _, id := range []string{"firewall.nftables-enabled", "time.sync-service"} {
		if s := pf.status(id); s != "pass" {
			t.Errorf("after provision, %s = %s", id, s)
		}
	}
	if link, err := os.Readlink(filepath.Join(root, "etc/systemd/system/sysinit.target.wants/nftables.service")); err != nil || !strings.HasSuffix(link, "/nftables.service") {
		t.Errorf("enablement link: %q %v", link, err)
	}
	// (Debian's nftables.service is WantedBy=sysinit.target.)
	// A tree without the unit: a clear error naming the package, nothing changed.
	arm := copyTree(t, "ubuntu-22.04-arm64")
	before := snapshot(t, arm)
	if r := vmnode(t, "provision", "--root", arm, "--profile", "vmmanager-kvm", "--only", "services"); r.code != 1 || !strings.Contains(r.stderr, "install package nftables") {
		t.Errorf("missing unit: exit %d %s", r.code, r.stderr)
	}
	sameTree(t, before, snapshot(t, arm))
}
