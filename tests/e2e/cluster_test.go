package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmnode/vmnode/runtime/api"
	"github.com/vmnode/vmnode/tests/lab"
)

// These tests run vmnode agents as separate processes, one per lab host (a
// network namespace on a private bridge), and drive them with the CLI.

type labAgent struct {
	name   string
	host   *lab.Host
	dir    string
	config string
	proc   *lab.Proc
}

// agentConfig writes a host's configuration: fast gossip, offline checks,
// everything under dir.
func agentConfig(t *testing.T, dir, name string, h *lab.Host, keyFile, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`node:
  name: %s
preflight:
  offline: true
agent:
  bind: %s:7946
  data_dir: %s/data
  key_file: %s
  socket: %s/agent.sock
  gossip: fast
  health_interval: 2s
%s`, name, h.Addr, dir, keyFile, dir, extra)
	p := filepath.Join(dir, "vmnode.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startLabAgent(t *testing.T, h *lab.Host, name, keyFile, extra string) *labAgent {
	t.Helper()
	dir := t.TempDir()
	a := &labAgent{name: name, host: h, dir: dir, config: agentConfig(t, dir, name, h, keyFile, extra)}
	a.proc = h.Start(t, vmnodeBin, "agent", "--config", a.config)
	waitFor(t, name+"'s control socket", 10*time.Second, func() bool {
		return a.cli(t, "status", "-o", "json").code != 2 || !a.proc.Alive()
	})
	if !a.proc.Alive() {
		t.Fatalf("agent %s exited:\n%s", name, a.proc.Log())
	}
	return a
}

func (a *labAgent) cli(t *testing.T, args ...string) result {
	t.Helper()
	return vmnode(t, append([]string{"--config", a.config}, args...)...)
}

func (a *labAgent) join(t *testing.T, to *labAgent) result {
	t.Helper()
	return a.cli(t, "join", "--skip-provision", "--offline", "--ignore-preflight-errors", "all", to.host.Addr.String())
}

func (a *labAgent) members(t *testing.T) map[string]api.Member {
	t.Helper()
	r := a.cli(t, "members", "-o", "json")
	if r.code != 0 {
		t.Fatalf("%s: members: %d %s", a.name, r.code, r.stderr)
	}
	var ms []api.Member
	if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
		t.Fatalf("members json: %v\n%s", err, r.stdout)
	}
	out := map[string]api.Member{}
	for _, m := range ms {
		out[m.Name] = m
	}
	return out
}

func (a *labAgent) status(t *testing.T) api.Status {
	t.Helper()
	r := a.cli(t, "status", "-o", "json")
	var st api.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("%s: status (exit %d): %v\n%s%s", a.name, r.code, err, r.stdout, r.stderr)
	}
	return st
}

// waitStatus waits until a sees member name in the given state.
func (a *labAgent) waitStatus(t *testing.T, name, status string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, fmt.Sprintf("%s to see %s %s", a.name, name, status), within, func() bool {
		return a.members(t)[name].Status == status
	})
	return time.Since(start)
}

func (a *labAgent) waitQuorum(t *testing.T, has bool, within time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s quorum=%v", a.name, has), within, func() bool { return a.status(t).Quorum.Has == has })
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func keyFile(t *testing.T) string {
	t.Helper()
	r := vmnode(t, "keygen")
	if r.code != 0 {
		t.Fatalf("keygen: %s", r.stderr)
	}
	p := filepath.Join(t.TempDir(), "gossip.key")
	if err := os.WriteFile(p, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// threeHosts starts a lab of n hosts and a 3-host cluster on the first three.
func threeHosts(t *testing.T, n int, extra string) (*lab.Net, []*labAgent, string) {
	t.Helper()
	net := lab.NewNet(t, n)
	key := keyFile(t)
	var agents []*labAgent
	for i := 0; i < 3; i++ {
		agents = append(agents, startLabAgent(t, net.Host(i), fmt.Sprintf("h%d", i+1), key, extra))
	}
	for _, a := range agents[1:] {
		if r := a.join(t, agents[0]); r.code != 0 {
			t.Fatalf("%s join: exit %d\n%s%s", a.name, r.code, r.stdout, r.stderr)
		}
	}
	for _, a := range agents {
		for _, b := range agents {
			a.waitStatus(t, b.name, "alive", 5*time.Second)
		}
	}
	return net, agents, key
}

func TestClusterJoinMembersStatus(t *testing.T) {
	_, agents, _ := threeHosts(t, 3, "")
	h1, h2 := agents[0], agents[1]

	// The second host's join printed the serf-like outcome and warned
	// about an even host count; the config now names the seed.
	ms := h1.members(t)
	if len(ms) != 3 || ms["h2"].OSFamily != "debian" || ms["h3"].Role != "hypervisor" || ms["h2"].Version == "" {
		t.Fatalf("members: %+v", ms)
	}
	if cfg, _ := os.ReadFile(h2.config); !strings.Contains(string(cfg), h1.host.Addr.String()+":7946") {
		t.Fatalf("join did not record the seed in the config:\n%s", cfg)
	}
	st := h1.status(t)
	if !st.Quorum.Has || st.Quorum.Seen != 3 || st.Quorum.Needed != 2 || st.Members != 3 || !st.Encrypted {
		t.Fatalf("status: %+v", st)
	}
	r := h1.cli(t, "members")
	if r.code != 0 || !strings.Contains(r.stdout, "NAME") || !strings.Contains(r.stdout, "h3") {
		t.Fatalf("members text: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Health drift is published: every member reports a health status.
	waitFor(t, "health in every member's tags", 10*time.Second, func() bool {
		for _, m := range h1.members(t) {
			if m.Health == "" {
				return false
			}
		}
		return true
	})

	// Cluster-wide preflight: every member answers, the ports are probed
	// between the namespaces for real.
	r = h1.cli(t, "preflight", "--cluster", "-o", "json")
	var rep struct {
		Members []struct {
			Name     string `json:"name"`
			Answered bool   `json:"answered"`
			Probes   []struct {
				To, Result string
			} `json:"probes"`
		} `json:"members"`
		Cluster []struct{ ID, Status string } `json:"cluster"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("cluster preflight json (exit %d): %v\n%s", r.code, err, r.stderr)
	}
	if len(rep.Members) != 3 {
		t.Fatalf("cluster preflight members: %+v", rep.Members)
	}
	for _, m := range rep.Members {
		if !m.Answered || len(m.Probes) == 0 {
			t.Fatalf("%s answered=%v probes=%d", m.Name, m.Answered, len(m.Probes))
		}
		for _, p := range m.Probes {
			// Nothing filters the lab's traffic: every probe is answered,
			// open (the gossip port) or refused.
			if p.Result != "open" && p.Result != "refused" {
				t.Fatalf("%s -> %s: %s", m.Name, p.To, p.Result)
			}
		}
	}
	got := map[string]string{}
	for _, c := range rep.Cluster {
		got[c.ID] = c.Status
	}
	for id, want := range map[string]string{"cluster.members-answered": "pass", "cluster.hostname-unique": "pass", "cluster.os-family-homogeneous": "pass", "cluster.size": "pass", "cluster.ports-reachable": "pass"} {
		if got[id] != want {
			t.Errorf("%s = %s, want %s (all: %v)", id, got[id], want, got)
		}
	}
	for _, f := range []string{"text", "junit", "html"} {
		if r := h1.cli(t, "preflight", "--cluster", "-o", f); r.stdout == "" || r.code == 2 {
			t.Errorf("preflight --cluster -o %s: exit %d, %d bytes, %s", f, r.code, len(r.stdout), r.stderr)
		}
	}
}

func TestClusterFailuresPartitionsAndHeal(t *testing.T) {
	net, agents, key := threeHosts(t, 4, "")
	h1, h2, h3 := agents[0], agents[1], agents[2]
	h4 := startLabAgent(t, net.Host(3), "h4", key, "")

	// h1 cut off from the others (h4 is not a member yet): it loses quorum;
	// the majority keeps it.
	net.Partition([]*lab.Host{h1.host, h4.host}, []*lab.Host{h2.host, h3.host})
	h1.waitQuorum(t, false, 10*time.Second)
	h2.waitQuorum(t, true, time.Second)
	if r := h1.cli(t, "status"); r.code != 1 || !strings.Contains(r.stdout, "Quorum:   NO") {
		t.Fatalf("status without quorum: exit %d\n%s", r.code, r.stdout)
	}
	h2.waitStatus(t, "h1", "failed", 10*time.Second)
	// A join through the side without quorum is refused, and says why.
	if r := h4.join(t, h1); r.code != 1 || !strings.Contains(r.stderr, "the member contacted, h1, has no quorum") {
		t.Fatalf("join through a minority: exit %d\n%s", r.code, r.stderr)
	}
	if _, in := h1.members(t)["h4"]; in {
		t.Fatal("a member without quorum admitted a host")
	}
	h4.proc.Signal(syscall.SIGKILL)

	// Heal: the sides find each other again by themselves.
	net.Heal()
	h1.waitStatus(t, "h2", "alive", 15*time.Second)
	h1.waitQuorum(t, true, 5*time.Second)
	h2.waitStatus(t, "h1", "alive", 15*time.Second)

	// Host death: its agent is killed; the others see it failed, and two
	// of three still make a quorum.
	h3.host.Kill()
	took := h1.waitStatus(t, "h3", "failed", 10*time.Second)
	t.Logf("kill detected in %s", took.Round(10*time.Millisecond))
	h1.waitQuorum(t, true, time.Second)

	// A link cut on top: h1 sees one host of three, no quorum.
	net.Cut(h2.host)
	h1.waitStatus(t, "h2", "failed", 10*time.Second)
	h1.waitQuorum(t, false, 5*time.Second)
	net.Restore(h2.host)
	h1.waitStatus(t, "h2", "alive", 15*time.Second)
	h1.waitQuorum(t, true, 5*time.Second)

	// A paused agent (SIGSTOP) is a failed one; it comes back when resumed.
	h2.host.Pause()
	h1.waitStatus(t, "h2", "failed", 10*time.Second)
	h2.host.Resume()
	h1.waitStatus(t, "h2", "alive", 15*time.Second)

	// Graceful leave on SIGTERM: "left", it stops counting, exit 0.
	if err := h2.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if exited, err := h2.proc.Wait(15 * time.Second); !exited || err != nil {
		t.Fatalf("agent after SIGTERM: exited=%v err=%v\n%s", exited, err, h2.proc.Log())
	}
	h1.waitStatus(t, "h2", "left", 5*time.Second)
	if st := h1.status(t); st.Members != 2 {
		t.Fatalf("a left host still counts: %+v", st.Quorum)
	}
}

func TestClusterRefusals(t *testing.T) {
	net, agents, key := threeHosts(t, 5, "cluster:\n  max_hosts: 4\n")
	h1 := agents[0]

	// A wrong key cannot join, and says what to check.
	intruder := startLabAgent(t, net.Host(3), "x", keyFile(t), "")
	r := intruder.join(t, h1)
	if r.code != 1 || !strings.Contains(r.stderr, "gossip key") {
		t.Fatalf("wrong key join: exit %d\n%s", r.code, r.stderr)
	}
	intruder.proc.Signal(syscall.SIGKILL)
	intruder.proc.Wait(5 * time.Second)

	// A duplicate name is refused with the reason.
	dup := startLabAgent(t, net.Host(3), "h2", key, "")
	r = dup.join(t, h1)
	if r.code != 1 || !strings.Contains(r.stderr, "a host named h2 is already a member") {
		t.Fatalf("duplicate name join: exit %d\n%s", r.code, r.stderr)
	}
	dup.proc.Signal(syscall.SIGKILL)
	dup.proc.Wait(5 * time.Second)

	// The fourth host fits (with a warning about the even count); a fifth
	// is over cluster.max_hosts.
	h4 := startLabAgent(t, net.Host(3), "h4", key, "")
	if r := h4.join(t, h1); r.code != 0 || !strings.Contains(r.stderr, "odd number") {
		t.Fatalf("h4 join: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	h1.waitStatus(t, "h4", "alive", 5*time.Second)
	h5 := startLabAgent(t, net.Host(4), "h5", key, "")
	r = h5.join(t, h1)
	if r.code != 1 || !strings.Contains(r.stderr, "would grow to 5 hosts, over its limit of 4") {
		t.Fatalf("h5 join: exit %d\n%s", r.code, r.stderr)
	}
	time.Sleep(time.Second) // a few gossip rounds: nobody takes h5 in behind the refusal
	if _, in := h1.members(t)["h5"]; in {
		t.Fatal("the cluster took in a refused host")
	}
	if _, in := h1.members(t)["x"]; in {
		t.Fatal("the cluster took in a host with the wrong key")
	}
}

func TestAgentReloadAndBadInput(t *testing.T) {
	net := lab.NewNet(t, 1)
	key := keyFile(t)
	a := startLabAgent(t, net.Host(0), "h1", key, "")

	// SIGHUP applies a new role; a broken file is refused and changes nothing.
	cfg, _ := os.ReadFile(a.config)
	os.WriteFile(a.config, append(cfg, []byte("  role: storage\n")...), 0o600)
	a.proc.Signal(syscall.SIGHUP)
	waitFor(t, "the new role", 5*time.Second, func() bool { return a.members(t)["h1"].Role == "storage" })
	os.WriteFile(a.config, append(cfg, []byte("  rolle: typo\n")...), 0o600)
	a.proc.Signal(syscall.SIGHUP)
	waitFor(t, "the reload error in the log", 5*time.Second, func() bool { return strings.Contains(a.proc.Log(), "rolle") })
	// The CLI cannot read the broken file either: ask the socket directly.
	r := vmnode(t, "members", "--socket", filepath.Join(a.dir, "agent.sock"))
	if !a.proc.Alive() || r.code != 0 || !strings.Contains(r.stdout, "storage") {
		t.Fatalf("a bad reload changed the running agent: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	os.WriteFile(a.config, append(cfg, []byte("  role: storage\n")...), 0o600)

	// A second agent on the same socket is refused; the first keeps serving.
	second := vmnode(t, "--config", a.config, "agent", "--bind", "127.0.0.1:0")
	if second.code == 0 || !strings.Contains(second.stderr, "another vmnode agent is already serving") {
		t.Fatalf("second agent: exit %d\n%s", second.code, second.stderr)
	}
	if st := a.status(t); st.Node != "h1" {
		t.Fatalf("first agent after the second tried: %+v", st)
	}

	// Bad input to the CLI: clear errors, exit 2.
	dir := t.TempDir()
	for _, tc := range []struct {
		name, config, want string
		args               []string
	}{
		{"unknown key", "agent:\n  joins: [10.0.0.1]\n", "agent.joins", []string{"agent"}},
		{"missing key file", fmt.Sprintf("agent:\n  bind: 127.0.0.1:0\n  key_file: %s/nope.key\n  socket: %s/s.sock\n  data_dir: %s/d\n", dir, dir, dir), "vmnode keygen", []string{"agent"}},
		{"malformed join address", "", "port \"x\" is not a number", []string{"join", "10.0.0.1:x"}},
		{"garbage key", "", "not base64", []string{"join", "--key", "!!!", "10.0.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			os.WriteFile(p, []byte(tc.config), 0o600)
			r := vmnode(t, append([]string{"--config", p}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant %q", r.code, r.stderr, tc.want)
			}
		})
	}
	// No agent: a clear message.
	r = vmnode(t, "members", "--socket", filepath.Join(dir, "none.sock"))
	if r.code == 0 || !strings.Contains(r.stderr, "agent is not running") {
		t.Fatalf("members without agent: %d %s", r.code, r.stderr)
	}
}

func TestClusterKeyRotation(t *testing.T) {
	net, agents, oldKeyFile := threeHosts(t, 4, "")
	h1, h3 := agents[0], agents[2]
	oldKey, _ := os.ReadFile(oldKeyFile)
	newKey := strings.TrimSpace(vmnode(t, "keygen").stdout)

	list := func() string {
		t.Helper()
		r := h1.cli(t, "keys", "list")
		if r.code != 0 {
			t.Fatalf("keys list: %d %s", r.code, r.stderr)
		}
		return r.stdout
	}
	if out := list(); !strings.Contains(out, strings.TrimSpace(string(oldKey))+"  installed on 3/3, primary on 3") {
		t.Fatalf("keys list before:\n%s", out)
	}
	for _, step := range [][]string{{"install", newKey}, {"use", newKey}, {"remove", strings.TrimSpace(string(oldKey))}} {
		if r := h1.cli(t, append([]string{"keys"}, step...)...); r.code != 0 || !strings.Contains(r.stdout, "3 of 3 members answered, 0 failed") {
			t.Fatalf("keys %s: exit %d\n%s%s", step[0], r.code, r.stdout, r.stderr)
		}
	}
	out := list()
	if strings.Contains(out, strings.TrimSpace(string(oldKey))) || !strings.Contains(out, newKey+"  installed on 3/3, primary on 3") {
		t.Fatalf("keys list after the rotation:\n%s", out)
	}
	// Removing the key in use is refused by every member.
	if r := h1.cli(t, "keys", "remove", newKey); r.code == 0 {
		t.Fatalf("removed the primary key:\n%s", r.stdout)
	}

	// A host with the old key is now shut out.
	late := startLabAgent(t, net.Host(3), "late", oldKeyFile, "")
	if r := late.join(t, h1); r.code != 1 || !strings.Contains(r.stderr, "gossip key") {
		t.Fatalf("old-key join: exit %d\n%s", r.code, r.stderr)
	}

	// The rotated keyring survives a restart: h3 comes back with the new
	// key although its key_file still holds the old one.
	h3.proc.Signal(syscall.SIGTERM)
	if exited, _ := h3.proc.Wait(15 * time.Second); !exited {
		t.Fatal("h3 did not stop")
	}
	h3.proc = h3.host.Start(t, vmnodeBin, "agent", "--config", h3.config)
	h1.waitStatus(t, "h3", "alive", 15*time.Second)
}
