package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/runtime/api"
)

func TestHAStatusText(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := api.HAStatus{
		Timers: api.HATimers{Detection: 6 * time.Second, Skew: time.Second, FenceTimeout: 5 * time.Second,
			FailoverDelay: 11 * time.Second, Watchdog: 3 * time.Second, WatchdogPath: "/dev/watchdog", MaxRestarts: 3},
		Predicted: 12 * time.Second,
		VMs: []api.HAVM{
			{Name: "web1", Active: "h1", Passive: "h2", Epoch: 7, Desired: "running", State: "running", RunsOn: []string{"h1"},
				LastEvent: &api.LastEvent{Kind: "started", Detail: "migrated", At: now.Add(-3 * time.Minute)},
				Notes:     map[string]string{"h2": "passive: ready to take over", "h1": "active: holds the lease"}},
			{Name: "db1", Active: "h3", Passive: "h1", Epoch: 2, Desired: "running", State: "crashed", RunsOn: []string{"h1", "h3"},
				LastEvent: &api.LastEvent{Kind: "stopped", Detail: "crashed", Unexpected: true, At: now.Add(-90 * time.Second)}},
		},
	}
	var b bytes.Buffer
	if err := writeHAStatus(&b, st, now); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"timers: failover_delay 11s, fence_timeout 5s, skew 1s, detection 6s, watchdog 3s (/dev/watchdog), max_restarts 3; predicted recovery 12s\n" +
		"NAME  ACTIVE  PASSIVE  STATE             EPOCH  DESIRED  LAST EVENT\n" +
		"web1  h1      h2       running           7      running  started (migrated), 3m0s ago\n" +
		"db1   h3      h1       crashed on h1,h3  2      running  stopped (crashed), unexpected, 1m30s ago\n" +
		"web1:\n" +
		"  h1: active: holds the lease\n" +
		"  h2: passive: ready to take over\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestHAStatusTextWithoutWatchdogOrVMs(t *testing.T) {
	var b bytes.Buffer
	st := api.HAStatus{Timers: api.HATimers{Detection: 700 * time.Millisecond, Skew: 250 * time.Millisecond,
		FenceTimeout: time.Second, FailoverDelay: 1500 * time.Millisecond, MaxRestarts: 3}, Predicted: 1750 * time.Millisecond}
	if err := writeHAStatus(&b, st, time.Now()); err != nil {
		t.Fatal(err)
	}
	want := "timers: failover_delay 1.5s, fence_timeout 1s, skew 250ms, detection 700ms, watchdog none, max_restarts 3; predicted recovery 1.75s\n" +
		"no HA VMs (vmnode ha enable NAME --passive HOST)\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestHAEnable(t *testing.T) {
	f := &fakeAgent{vms: map[string]api.VM{"web1": {Name: "web1", Host: "h1", State: "running", VCPUs: 2, MemoryMiB: 2048,
		HA: api.VMHA{Enabled: true, Active: "h1", Passive: "h2", Epoch: 1}}}}
	vmnode := vmnodeWith(t, f)
	code, out, errOut := vmnode("ha", "enable", "web1", "--passive", "h2")
	if want := "web1 is highly available: active h1, passive h2 (epoch 1); h2 reserves 2 GiB and 2 vCPUs for it\n"; code != 0 || out != want {
		t.Errorf("exit %d\nstdout: %q\nwant:   %q\nstderr: %s", code, out, want, errOut)
	}
	if got := f.requests(api.VMHAEnable); len(got) != 1 || got[0].Passive != "h2" {
		t.Errorf("requests %+v", got)
	}
	// --passive is required: a usage error, before anything is asked.
	if code, _, errOut := vmnode("ha", "enable", "web2"); code != 2 || !strings.Contains(errOut, `"passive" not set`) {
		t.Errorf("without --passive: exit %d, stderr %q", code, errOut)
	}
}

func TestHASwitchover(t *testing.T) {
	f := &fakeAgent{
		vms: map[string]api.VM{
			"web1":  {Name: "web1", Host: "h1", State: "running", HA: api.VMHA{Enabled: true, Active: "h1", Passive: "h2", Epoch: 3}},
			"plain": {Name: "plain", Host: "h1", State: "running"},
		},
		// show, switchover, then the VM is on h2 at the second poll
		switchAfter: map[string]int{"web1": 3},
	}
	vmnode := vmnodeWith(t, f)
	code, out, errOut := vmnode("ha", "switchover", "web1")
	if code != 0 || !regexp.MustCompile(`^web1 switched over from h1 to h2 in \S+s\n$`).MatchString(out) {
		t.Errorf("exit %d\nstdout: %q\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = vmnode("ha", "switchover", "plain")
	if code != 1 || out != "" || !strings.Contains(errOut, "plain is not highly available: `vmnode ha enable plain --passive HOST` first") {
		t.Errorf("not HA: exit %d\nstdout: %q\nstderr: %s", code, out, errOut)
	}
	if got := f.requests(api.VMSwitchover); len(got) != 1 || got[0].Name != "web1" {
		t.Errorf("switchover requests %+v, want web1's only", got)
	}
}

func TestHASwitchoverTimesOut(t *testing.T) {
	f := &fakeAgent{vms: map[string]api.VM{
		"web1": {Name: "web1", Host: "h1", State: "running", HA: api.VMHA{Enabled: true, Active: "h1", Passive: "h2"}},
	}}
	code, _, errOut := vmnodeWith(t, f)("ha", "switchover", "web1", "--timeout", "600ms")
	want := "web1 did not switch over to h2: timed out after 600ms: web1 is running on h1; see `vmnode ha status`"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
