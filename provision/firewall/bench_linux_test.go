package firewall

import (
	"context"
	"os"
	"os/exec"
	"testing"
)

// The benchmarks run against the real kernel in a private namespace, with
// the vmnode profile and policy drop (16 rules).

func benchSetup(b *testing.B) (*netNS, Ruleset) {
	b.Helper()
	ns := newNetNS(b)
	return ns, desired(b, profilePorts(b, "vmnode"), PolicyDrop)
}

// BenchmarkPlanConverged is the firewall step of a no-op provision: read the
// table back and find nothing to do.
func BenchmarkPlanConverged(b *testing.B) {
	ns, rs := benchSetup(b)
	if _, err := Apply(ns.conn(b), rs); err != nil {
		b.Fatal(err)
	}
	step := NewStep(rs, StepConfig{NetNS: ns.fd})
	ctx := context.Background()
	for b.Loop() {
		p, err := step.Plan(ctx)
		if err != nil || !p.Empty() {
			b.Fatalf("plan: %v %v", err, p.Changes)
		}
	}
	b.ReportMetric(0, "msgs/batch")
}

// BenchmarkApply replaces the table: one batch of BatchSize messages.
func BenchmarkApply(b *testing.B) {
	ns, rs := benchSetup(b)
	conn := ns.conn(b)
	n := 0
	for b.Loop() {
		var err error
		if n, err = Apply(conn, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "msgs/batch")
}

// BenchmarkNftF loads the same ruleset from its rendered file with the nft
// binary, as the nftables service does (process start-up included).
func BenchmarkNftF(b *testing.B) {
	ns, rs := benchSetup(b)
	path := b.TempDir() + "/vmnode.nft"
	if err := os.WriteFile(path, []byte(Render(rs)), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if out, err := exec.Command("ip", "netns", "exec", ns.name, "nft", "-f", path).CombinedOutput(); err != nil {
			b.Fatalf("nft -f: %v: %s", err, out)
		}
	}
	b.ReportMetric(float64(BatchSize(rs)), "msgs/batch")
}
