package firewall

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmnode/vmnode/profiles"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func port(t *testing.T, spec, proto, purpose string) profiles.Port {
	t.Helper()
	r, err := profiles.ParsePortRange(spec)
	if err != nil {
		t.Fatal(err)
	}
	return profiles.Port{Port: r, Proto: proto, Purpose: purpose}
}

func profilePorts(t testing.TB, name string) []profiles.Port {
	t.Helper()
	p, err := profiles.Load(name, profiles.Options{LocalDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return p.Firewall.Ports
}

func desired(t testing.TB, ports []profiles.Port, policy Policy) Ruleset {
	t.Helper()
	rs, err := Desired(ports, Options{Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func ruleStrings(rs Ruleset) []string {
	var out []string
	for _, r := range rs.Rules {
		out = append(out, r.String())
	}
	return out
}

func TestDesired(t *testing.T) {
	base := []string{
		`iif "lo" accept`,
		`ct state established,related accept`,
	}
	icmp := []string{
		`icmp type echo-request accept`,
		`icmpv6 type echo-request accept`,
		`icmpv6 type nd-neighbor-solicit accept`,
		`icmpv6 type nd-neighbor-advert accept`,
		`icmpv6 type nd-router-advert accept`,
	}
	withBase := func(policy Policy, ports ...string) []string {
		out := append([]string{}, base...)
		if policy == PolicyDrop {
			out = append(out, `ct state invalid drop`)
		}
		return append(append(out, icmp...), ports...)
	}
	tests := []struct {
		name   string
		ports  []profiles.Port
		policy Policy
		want   []string
	}{
		{"no ports: SSH is still open", nil, "", withBase(PolicyAccept,
			`tcp dport 22 accept comment "SSH (always open)"`)},
		{"drop policy drops invalid", nil, PolicyDrop, withBase(PolicyDrop,
			`tcp dport 22 accept comment "SSH (always open)"`)},
		{"profile's SSH kept, not doubled", []profiles.Port{port(t, "22", "tcp", "SSH")}, "", withBase(PolicyAccept,
			`tcp dport 22 accept comment "SSH"`)},
		{"a range covering 22 is enough", []profiles.Port{port(t, "20-30", "tcp", "")}, "", withBase(PolicyAccept,
			`tcp dport 20-30 accept`)},
		{"22/udp is not SSH", []profiles.Port{port(t, "22", "udp", "x")}, "", withBase(PolicyAccept,
			`tcp dport 22 accept comment "SSH (always open)"`, `udp dport 22 accept comment "x"`)},
		{"sorted by proto then port, overlaps merged", []profiles.Port{
			port(t, "7946", "udp", "serf"), port(t, "5900-6900", "tcp", "vnc"), port(t, "6000-7000", "tcp", "x"),
			port(t, "22", "TCP", "SSH"), port(t, "7946", "tcp", "serf"), port(t, "7946", "udp", "serf"),
		}, "", withBase(PolicyAccept,
			`tcp dport 22 accept comment "SSH"`, `tcp dport 5900-7000 accept comment "vnc, x"`,
			`tcp dport 7946 accept comment "serf"`, `udp dport 7946 accept comment "serf"`)},
		{"comment made safe for nft", []profiles.Port{port(t, "22", "tcp", "say \"hi\"\n")}, "", withBase(PolicyAccept,
			`tcp dport 22 accept comment "say 'hi'"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := desired(t, tt.ports, tt.policy)
			if got := strings.Join(ruleStrings(rs), "\n"); got != strings.Join(tt.want, "\n") {
				t.Errorf("rules:\n%s\nwant:\n%s", got, strings.Join(tt.want, "\n"))
			}
			wantPolicy := PolicyAccept
			if tt.policy == PolicyDrop {
				wantPolicy = PolicyDrop
			}
			if rs.Policy != wantPolicy || rs.Priority != 0 || len(rs.Unmanaged) != 0 {
				t.Errorf("policy %q priority %d unmanaged %v", rs.Policy, rs.Priority, rs.Unmanaged)
			}
		})
	}
}

func TestDesiredErrors(t *testing.T) {
	tests := []struct {
		name  string
		ports []profiles.Port
		opt   Options
		want  string
	}{
		{"sctp", []profiles.Port{port(t, "3868", "sctp", "")}, Options{}, `protocol "sctp" is not tcp or udp`},
		{"zero port", []profiles.Port{{Proto: "tcp"}}, Options{}, "not a port"},
		{"both reported", []profiles.Port{{Proto: "tcp"}, port(t, "1", "icmp", "")}, Options{}, `protocol "icmp"`},
		{"policy", nil, Options{Policy: "reject"}, `invalid firewall policy "reject"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Desired(tt.ports, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"": PolicyAccept, "accept": PolicyAccept, " DROP ": PolicyDrop} {
		if got, err := ParsePolicy(in); err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParsePolicy("deny"); err == nil {
		t.Error("ParsePolicy(deny) succeeded")
	}
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		r    Rule
		want string
	}{
		{Rule{CtState: CtInvalid, Verdict: Drop}, "ct state invalid drop"},
		{Rule{CtState: CtNew | CtUntracked | 0x100, Verdict: Accept}, "ct state new,untracked,0x100 accept"},
		{Rule{Proto: "icmpv6", ICMPType: 1, Verdict: Accept}, "icmpv6 type 1 accept"},
		{Rule{Proto: "udp", Verdict: Accept}, "meta l4proto udp accept"},
		{Rule{IIF: "lo", Proto: "tcp", DPort: profiles.PortRange{First: 1, Last: 2}, Verdict: Drop, Comment: "c"}, `iif "lo" tcp dport 1-2 drop comment "c"`},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestEqual(t *testing.T) {
	a := desired(t, nil, PolicyAccept)
	if !Equal(a, desired(t, nil, "")) {
		t.Error("same ruleset not equal")
	}
	b := desired(t, nil, PolicyDrop)
	if Equal(a, b) {
		t.Error("accept and drop rulesets equal")
	}
	c := desired(t, nil, PolicyAccept)
	c.Rules[len(c.Rules)-1].Comment = "other"
	if Equal(a, c) {
		t.Error("a changed comment went unnoticed")
	}
	d := desired(t, nil, PolicyAccept)
	d.Unmanaged = []string{"chain forward"}
	if Equal(a, d) {
		t.Error("an unmanaged chain went unnoticed")
	}
}

func TestPersistence(t *testing.T) {
	if got, want := IncludeLine(), `include "/etc/vmnode/nftables.nft"`; got != want {
		t.Errorf("IncludeLine() = %q, want %q", got, want)
	}
	if PersistPath != "/etc/vmnode/nftables.nft" || len(NftablesConfPaths) != 2 ||
		NftablesConfPaths[0] != "/etc/nftables.conf" || NftablesConfPaths[1] != "/etc/sysconfig/nftables.conf" {
		t.Errorf("PersistPath %q NftablesConfPaths %q", PersistPath, NftablesConfPaths)
	}
	// The file must replace the table whether or not it exists, and only it.
	text := Render(desired(t, nil, ""))
	var stmts []string
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "\t") && line != "}" {
			stmts = append(stmts, line)
		}
	}
	want := []string{"table inet vmnode {}", "delete table inet vmnode", "table inet vmnode {"}
	if strings.Join(stmts, "\n") != strings.Join(want, "\n") {
		t.Errorf("top-level statements:\n%s\nwant:\n%s", strings.Join(stmts, "\n"), strings.Join(want, "\n"))
	}
}

// goldenCases are rendered to testdata/NAME.nft.
var goldenCases = []struct {
	name, profile string
	policy        Policy
}{
	{"vmnode", "vmnode", ""},
	{"vmnode-drop", "vmnode", PolicyDrop},
	{"vmmanager-kvm", "vmmanager-kvm", ""},
}

func TestRenderGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			got := Render(desired(t, profilePorts(t, gc.profile), gc.policy))
			path := filepath.Join("testdata", gc.name+".nft")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Render differs from %s (go test -update rewrites it):\n%s", path, diffLines(string(want), got))
			}
		})
	}
}

func TestDiffLines(t *testing.T) {
	got := diffLines("a\nb\nc\n", "a\nc\nd\n")
	want := "  a\n- b\n  c\n+ d\n"
	if got != want {
		t.Errorf("diffLines:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlanPure(t *testing.T) {
	want := desired(t, nil, PolicyDrop)
	if p := plan("firewall", want, want, true); !p.Empty() {
		t.Errorf("converged plan not empty: %+v", p)
	}
	p := plan("firewall", want, Ruleset{}, false)
	if p.Empty() || p.Changes[0].Kind != "rules" || p.Changes[0].Target != "inet vmnode" ||
		!strings.HasPrefix(p.Changes[0].Summary, "create table inet vmnode") || p.Changes[0].Diff != renderTable(want) {
		t.Errorf("plan for a missing table: %+v", p)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "22/tcp") {
		t.Errorf("drop policy plan notes: %q", p.Notes)
	}
	old := desired(t, nil, PolicyAccept)
	p = plan("firewall", want, old, true)
	if p.Empty() || !strings.Contains(p.Changes[0].Diff, "- \t\ttype filter hook input priority filter; policy accept;") ||
		!strings.Contains(p.Changes[0].Diff, "+ \t\tct state invalid drop") {
		t.Errorf("replace plan:\n%s", p.Changes[0])
	}
}
