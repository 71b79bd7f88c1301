package firewall

import (
	"context"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/vmnode/vmnode/provision"
)

// otherTables belong to "other components": they must come out of every
// apply byte for byte as they went in. ip vmnode has vmnode's table name in
// another family.
const otherTables = `table inet other {
	chain c {
		type filter hook input priority 10; policy accept;
		tcp dport 9999 counter drop comment "someone else's"
	}
}
table ip vmnode {
	chain x {
		ip saddr 192.0.2.1 drop
	}
}
`

func listOthers(t *testing.T, ns *netNS) string {
	t.Helper()
	return ns.nft(t, "list", "table", "inet", "other") + ns.nft(t, "list", "table", "ip", "vmnode")
}

func mustPlan(t *testing.T, s *Step) provision.StepPlan {
	t.Helper()
	p, err := s.Plan(context.Background())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return p
}

func TestStepRealKernel(t *testing.T) {
	ns := newNetNS(t)
	ns.nftFile(t, otherTables)
	others := listOthers(t, ns)

	want := desired(t, profilePorts(t, "vmnode"), "")
	step := NewStep(want, StepConfig{NetNS: ns.fd})
	if step.Name() != "firewall" {
		t.Errorf("Name() = %q", step.Name())
	}

	p := mustPlan(t, step)
	if p.Empty() || p.Step != "firewall" || p.Changes[0].Kind != "rules" || p.Changes[0].Target != "inet vmnode" ||
		!strings.HasPrefix(p.Changes[0].Summary, "create table inet vmnode") {
		t.Fatalf("first plan: %+v", p)
	}
	if err := step.Apply(context.Background(), p); err != nil {
		t.Fatalf("Apply: %v", err)
	}

	ruleset := ns.nft(t, "list", "ruleset")
	for _, s := range []string{"table inet vmnode {", "tcp dport 22 accept", "tcp dport 5900-6900 accept",
		"tcp dport 7946 accept", "udp dport 7946 accept", "udp dport 4789 accept", "policy accept;"} {
		if !strings.Contains(ruleset, s) {
			t.Errorf("nft list ruleset lacks %q:\n%s", s, ruleset)
		}
	}
	// What the kernel holds is exactly what Render promises.
	if got := ns.nft(t, "list", "table", "inet", "vmnode"); got != renderTable(want) {
		t.Errorf("nft list table inet vmnode differs from the rendered table:\n%s", diffLines(renderTable(want), got))
	}
	if got := listOthers(t, ns); got != others {
		t.Errorf("other tables changed:\n%s", diffLines(others, got))
	}

	// Converged: the second plan is empty and the second apply writes nothing
	// (rule handles would change if the table were rebuilt).
	handles := ns.nft(t, "-a", "list", "table", "inet", "vmnode")
	p2 := mustPlan(t, step)
	if !p2.Empty() {
		t.Fatalf("second plan not empty:\n%v", p2.Changes)
	}
	if err := step.Apply(context.Background(), p2); err != nil {
		t.Fatal(err)
	}
	if got := ns.nft(t, "-a", "list", "table", "inet", "vmnode"); got != handles {
		t.Errorf("second apply changed the table:\n%s", diffLines(handles, got))
	}

	// A new policy replaces the table, and still nothing else.
	drop := desired(t, profilePorts(t, "vmmanager-kvm"), PolicyDrop)
	step2 := NewStep(drop, StepConfig{NetNS: ns.fd})
	p3 := mustPlan(t, step2)
	if p3.Empty() || !strings.HasPrefix(p3.Changes[0].Summary, "replace table inet vmnode") ||
		!strings.Contains(p3.Changes[0].Diff, "- \t\ttcp dport 7946 accept") ||
		!strings.Contains(p3.Changes[0].Diff, "+ \t\ttype filter hook input priority filter; policy drop;") {
		t.Fatalf("replace plan:\n%v", p3.Changes)
	}
	if err := step2.Apply(context.Background(), p3); err != nil {
		t.Fatal(err)
	}
	if got := ns.nft(t, "list", "table", "inet", "vmnode"); got != renderTable(drop) {
		t.Errorf("after replace:\n%s", diffLines(renderTable(drop), got))
	}
	if got := listOthers(t, ns); got != others {
		t.Errorf("other tables changed by a replace:\n%s", diffLines(others, got))
	}
	if p := mustPlan(t, step2); !p.Empty() {
		t.Errorf("plan after replace not empty:\n%v", p.Changes)
	}
}

// TestNftFileConverges loads the persisted file the way the nftables service
// does at boot: it must load into an empty and into a populated namespace,
// replace the table, and leave the step with nothing to do.
func TestNftFileConverges(t *testing.T) {
	ns := newNetNS(t)
	ns.nftFile(t, otherTables)
	others := listOthers(t, ns)
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			want := desired(t, profilePorts(t, gc.profile), gc.policy)
			text := Render(want)
			ns.nftFile(t, text, "-c") // what the brief and the service's ExecStartPre do
			ns.nftFile(t, text)       // fresh or replacing the previous case's table
			ns.nftFile(t, text)       // loading twice (a service restart) is fine
			if p := mustPlan(t, NewStep(want, StepConfig{NetNS: ns.fd})); !p.Empty() {
				t.Errorf("after nft -f, plan not empty:\n%v", p.Changes)
			}
			if got := listOthers(t, ns); got != others {
				t.Errorf("nft -f of the file changed other tables:\n%s", diffLines(others, got))
			}
		})
	}
}

// TestApplyFailureKeepsOldTable forces the kernel to reject the batch: the
// previous table must survive intact, handles and all.
func TestApplyFailureKeepsOldTable(t *testing.T) {
	ns := newNetNS(t)
	spoil := func(c *nftables.Conn, table *nftables.Table) {
		c.AddRule(&nftables.Rule{Table: table, Chain: &nftables.Chain{Name: "no-such-chain", Table: table},
			Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}})
	}
	newWant := desired(t, profilePorts(t, "vmmanager-kvm"), PolicyDrop)

	t.Run("no table before", func(t *testing.T) {
		s := NewStep(newWant, StepConfig{NetNS: ns.fd})
		s.beforeFlush = spoil
		if err := s.Apply(context.Background(), mustPlan(t, s)); err == nil {
			t.Fatal("Apply of a spoiled batch succeeded")
		}
		if _, exists, err := Current(ns.conn(t)); err != nil || exists {
			t.Errorf("after a failed apply: exists=%v err=%v; want no table", exists, err)
		}
	})
	t.Run("table before", func(t *testing.T) {
		if _, err := Apply(ns.conn(t), desired(t, profilePorts(t, "vmnode"), "")); err != nil {
			t.Fatal(err)
		}
		before := ns.nft(t, "-a", "list", "table", "inet", "vmnode")
		s := NewStep(newWant, StepConfig{NetNS: ns.fd})
		s.beforeFlush = spoil
		err := s.Apply(context.Background(), mustPlan(t, s))
		if err == nil || !strings.Contains(err.Error(), "previous table is unchanged") {
			t.Fatalf("Apply of a spoiled batch: %v", err)
		}
		if after := ns.nft(t, "-a", "list", "table", "inet", "vmnode"); after != before {
			t.Errorf("failed apply changed the table:\n%s", diffLines(before, after))
		}
		// The same step without the fault converges.
		s.beforeFlush = nil
		if err := s.Apply(context.Background(), mustPlan(t, s)); err != nil {
			t.Fatal(err)
		}
		if p := mustPlan(t, s); !p.Empty() {
			t.Errorf("plan not empty:\n%v", p.Changes)
		}
	})
}

// TestCurrentSeesForeignContent: anything vmnode does not write in its own
// table makes the plan non-empty, shows in the diff, and is removed by Apply.
func TestCurrentSeesForeignContent(t *testing.T) {
	ns := newNetNS(t)
	want := desired(t, nil, PolicyDrop)
	step := NewStep(want, StepConfig{NetNS: ns.fd})
	tests := []struct {
		name, nft, diff string
	}{
		{"extra rule", "add rule inet vmnode input tcp dport 9999 counter accept", "# not vmnode's: rule (handle"},
		{"extra chain", "add chain inet vmnode forward { type filter hook forward priority 0; }", "# not vmnode's: chain forward"},
		{"a set", "add set inet vmnode s { type ipv4_addr; }", "# not vmnode's: 1 sets"},
		{"changed policy", "add chain inet vmnode input { policy accept; }", "- \t\ttype filter hook input priority filter; policy accept;"},
		{"deleted rule", "flush chain inet vmnode input", "+ \t\ttcp dport 22 accept"},
		{"no chain", "delete chain inet vmnode input", "# not vmnode's: no chain input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Apply(ns.conn(t), want); err != nil {
				t.Fatal(err)
			}
			ns.nft(t, strings.Fields(tt.nft)...)
			p := mustPlan(t, step)
			if p.Empty() || !strings.Contains(p.Changes[0].Diff, tt.diff) {
				t.Fatalf("plan after %q lacks %q:\n%v", tt.nft, tt.diff, p.Changes)
			}
			if err := step.Apply(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if p := mustPlan(t, step); !p.Empty() {
				t.Errorf("not converged:\n%v", p.Changes)
			}
		})
	}
}

func TestApplyRefusesUnmanaged(t *testing.T) {
	ns := newNetNS(t)
	rs := desired(t, nil, "")
	rs.Unmanaged = []string{"chain forward"}
	if _, err := Apply(ns.conn(t), rs); err == nil {
		t.Fatal("Apply of a ruleset read back with foreign parts succeeded")
	}
	if _, exists, _ := Current(ns.conn(t)); exists {
		t.Error("a refused Apply created the table")
	}
}
