package systemd

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/tests/lab"
)

// bootLab boots a Debian 12 container with chrony and nftables disabled and
// stopped, and returns it with a DBus manager on its system bus.
func bootLab(t *testing.T) (*lab.Container, *DBus) {
	t.Helper()
	root := lab.Rootfs(t)
	// chronyd must not set this machine's clock: -x, and the capability
	// condition (nspawn grants no CAP_SYS_TIME) lifted for the lab.
	writeFile(t, root, "etc/default/chrony", "DAEMON_OPTS=\"-x\"\n")
	writeFile(t, root, "etc/systemd/system/chrony.service.d/lab.conf", "[Unit]\nConditionCapability=\n")
	c := lab.Boot(t, root)
	if _, err := c.Exec("systemctl", "disable", "--now", "chrony.service", "nftables.service"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"chrony.service", "nftables.service"} {
		if state(t, c, "is-enabled", u) == "enabled" || state(t, c, "is-active", u) == "active" {
			t.Fatalf("%s still enabled or active after systemctl disable --now", u)
		}
	}
	m := &DBus{Address: c.BusAddress(), Root: root}
	t.Cleanup(m.Close)
	return c, m
}

func state(t *testing.T, c *lab.Container, verb, unit string) string {
	t.Helper()
	out, _ := c.Exec("systemctl", verb, unit) // non-zero exit for disabled/inactive
	return strings.TrimSpace(out)
}

// TestDBusEnablesAndStartsInContainer runs the step against real systemd
// (PID 1 of a systemd-nspawn container) over its D-Bus system bus.
func TestDBusEnablesAndStartsInContainer(t *testing.T) {
	c, m := bootLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	step := NewStep(debianUnits(), m)
	plan, err := step.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"enable nftables.service", "start nftables.service", "enable chrony.service", "start chrony.service"}
	if got := summaries(plan); !slices.Equal(got, want) {
		t.Fatalf("plan = %v, want %v", got, want)
	}
	start := time.Now()
	if err := step.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	t.Logf("apply took %s", time.Since(start).Round(time.Millisecond))
	for _, u := range []string{"chrony.service", "nftables.service"} {
		if got := state(t, c, "is-enabled", u); got != "enabled" {
			t.Errorf("systemctl is-enabled %s = %q", u, got)
		}
		if got := state(t, c, "is-active", u); got != "active" {
			t.Errorf("systemctl is-active %s = %q", u, got)
		}
	}
	again, err := step.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Empty() {
		t.Errorf("second plan not empty: %v", summaries(again))
	}
}

// TestDBusFailedStartIsUndone installs a unit whose start fails: Apply says
// why, and the unit file, its enablement and the other unit's start are
// undone.
func TestDBusFailedStartIsUndone(t *testing.T) {
	c, m := bootLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	broken := Unit{Name: "vmnode-broken.service", Enable: true, Start: true,
		Content: []byte("[Unit]\nDescription=fails to start\n[Service]\nType=oneshot\nExecStart=/bin/false\n[Install]\nWantedBy=multi-user.target\n")}
	units := []Unit{{Name: "nftables.service", Enable: true, Start: true}, broken}
	step := NewStep(units, m)
	plan, err := step.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"enable nftables.service", "start nftables.service",
		"install unit file vmnode-broken.service", "enable vmnode-broken.service", "start vmnode-broken.service"}
	if got := summaries(plan); !slices.Equal(got, want) {
		t.Fatalf("plan = %v, want %v", got, want)
	}
	err = step.Apply(ctx, plan)
	if err == nil {
		t.Fatal("Apply succeeded although vmnode-broken.service runs /bin/false")
	}
	t.Logf("Apply: %v", err)
	for _, s := range []string{"start vmnode-broken.service: job failed", "exit-code", "status 1", "undone:"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	if _, err := os.Lstat(filepath.Join(m.Root, "etc/systemd/system/vmnode-broken.service")); !os.IsNotExist(err) {
		t.Errorf("unit file left behind: %v", err)
	}
	if out, _ := c.Exec("sh", "-c", "ls /etc/systemd/system/*.wants/ | grep vmnode-broken"); out != "" {
		t.Errorf("enablement links left behind: %s", out)
	}
	if got := state(t, c, "is-enabled", "nftables.service"); got != "disabled" {
		t.Errorf("nftables.service is %q after the failed apply, want disabled again", got)
	}
	if got := state(t, c, "is-active", "nftables.service"); got != "inactive" {
		t.Errorf("nftables.service is %q after the failed apply, want inactive again", got)
	}
}
