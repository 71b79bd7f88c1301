package steps

import (
	"context"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight/host/hosttest"
	"github.com/vmnode/vmnode/profiles"
	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
	"github.com/vmnode/vmnode/provision/systemd"
)

func TestSelect(t *testing.T) {
	cases := []struct {
		only, skip []string
		want       string
		err        string
	}{
		{nil, nil, "firewall,services,selinux,hosts,resolver,time", ""},
		{[]string{"time", "hosts"}, nil, "hosts,time", ""}, // run order, not flag order
		{nil, []string{"firewall", "services"}, "selinux,hosts,resolver,time", ""},
		{[]string{"hosts"}, []string{"hosts"}, "", ""},
		{[]string{"host"}, nil, "", `unknown step "host"`},
		{nil, []string{"dns"}, "", `unknown step "dns"`},
	}
	for _, c := range cases {
		got, err := Select(c.only, c.skip)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "firewall, services") {
				t.Errorf("%v/%v: err %v, want %q listing the steps", c.only, c.skip, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != c.want {
			t.Errorf("%v/%v: %v %v, want %s", c.only, c.skip, got, err, c.want)
		}
	}
}

func root(b testing.TB) string {
	dir := b.TempDir()
	if out, err := exec.Command("cp", "-a", hosttest.TreeDir("almalinux-8.9")+"/.", dir).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v %s", err, out)
	}
	return dir
}

func stepsFor(b testing.TB, dir string, ed *files.Editor) []provision.Step {
	p, err := profiles.Load("vmmanager-kvm", profiles.Options{LocalDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	list, err := For(p, ed, Options{
		Address: netip.MustParseAddr("10.20.30.47"), Hostname: "node1.example", Policy: "accept",
		NTPServers: []string{"10.20.0.123"}, Services: systemd.Offline{Root: dir, Editor: ed},
	})
	if err != nil {
		b.Fatal(err)
	}
	return list
}

// A provision run on a converged host (every step planned, nothing to do),
// under --root: the time an idempotent re-run costs.
func BenchmarkProvisionConvergedRoot(b *testing.B) {
	dir := root(b)
	ed := files.NewEditor(dir, time.Unix(1, 0))
	if out := provision.Apply(context.Background(), stepsFor(b, dir, ed), ed); !out.Converged() {
		b.Fatalf("did not converge: %+v", out)
	}
	b.ResetTimer()
	for b.Loop() {
		ed := files.NewEditor(dir, time.Now())
		if out := provision.Apply(context.Background(), stepsFor(b, dir, ed), ed); len(out.Applied) != 0 {
			b.Fatalf("converged host changed: %+v", out.Applied)
		}
	}
}

// A full apply on a fresh copy of a fixture tree, under --root.
func BenchmarkProvisionFullApplyRoot(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		dir := root(b)
		b.StartTimer()
		ed := files.NewEditor(dir, time.Now())
		if out := provision.Apply(context.Background(), stepsFor(b, dir, ed), ed); !out.Converged() {
			b.Fatalf("did not converge: %+v", out)
		}
	}
}
