package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmnode/vmnode/runtime/api"
)

// fakeAgent answers the control API from scripts, as a cluster would.
type fakeAgent struct {
	api.Backend // what these tests do not ask: calling it panics

	mu sync.Mutex
	// vms are what show answers; Host answers those with Host == its host.
	vms map[string]api.VM
	// switchAfter: show says the HA VM runs on its passive host from
	// this many shows on.
	switchAfter map[string]int
	// migrations: migrate answers the first, each poll the next, the last
	// one over and over.
	migrations map[string][]api.Migration
	refuse     map[string]string // migrate fails with this
	placement  *api.Placement    // migrate without To
	shows      map[string]int
	polls      map[string]int
	got        []api.VMRequest
	hostReqs   []api.HostRequest
}

func (f *fakeAgent) VM(_ context.Context, r api.VMRequest) (api.VMResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
	v, ok := f.vms[r.Name]
	if !ok {
		return api.VMResponse{}, api.UserError{Err: fmt.Errorf("no VM %s", r.Name)}
	}
	switch r.Op {
	case api.VMShow, api.VMSwitchover, api.VMHAEnable:
		f.shows[r.Name]++
		if n := f.switchAfter[r.Name]; n > 0 && f.shows[r.Name] > n {
			v.Host, v.HA.Active, v.HA.Passive, v.HA.Epoch = v.HA.Passive, v.HA.Passive, v.HA.Active, v.HA.Epoch+1
		}
		return api.VMResponse{VM: &v}, nil
	case api.VMMigrate:
		if msg := f.refuse[r.Name]; msg != "" {
			return api.VMResponse{}, api.UserError{Err: errors.New(msg)}
		}
		f.polls[r.Name] = 0
		resp := api.VMResponse{Migration: &f.migrations[r.Name][0]}
		if r.To == "" {
			resp.Placement = f.placement
		}
		return resp, nil
	case api.VMMigration:
		seq := f.migrations[r.Name]
		if r.Host != seq[0].From {
			return api.VMResponse{}, fmt.Errorf("asked %s, the source is %s", r.Host, seq[0].From)
		}
		f.polls[r.Name]++
		return api.VMResponse{Migration: &seq[min(f.polls[r.Name], len(seq)-1)]}, nil
	}
	return api.VMResponse{}, fmt.Errorf("unexpected op %s", r.Op)
}

func (f *fakeAgent) Host(_ context.Context, r api.HostRequest) (api.HostResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hostReqs = append(f.hostReqs, r)
	resp := api.HostResponse{Host: r.Host, Maintenance: r.Maintenance}
	for _, name := range slices.Sorted(maps.Keys(f.vms)) {
		if v := f.vms[name]; v.Host == r.Host || v.HA.Passive == r.Host {
			resp.VMs = append(resp.VMs, v)
		}
	}
	return resp, nil
}

func (f *fakeAgent) requests(op string) []api.VMRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []api.VMRequest
	for _, r := range f.got {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// vmnodeWith runs the vmnode command line against f, serving the control
// API on a socket of its own.
func vmnodeWith(t *testing.T, f *fakeAgent) func(args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the control API serves root only")
	}
	for _, m := range []*map[string]int{&f.shows, &f.polls} {
		if *m == nil {
			*m = map[string]int{}
		}
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	srv, err := api.Listen(sock, f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Serve()
	t.Cleanup(func() { srv.Close() })
	cfg := filepath.Join(dir, "vmnode.yaml")
	if err := os.WriteFile(cfg, []byte("log:\n  level: error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append(args, "--config", cfg, "--socket", sock), &out, &errOut)
		return code, out.String(), errOut.String()
	}
}

func running(vm, from, to string, processed uint64) api.Migration {
	return api.Migration{VM: vm, From: from, To: to, Live: true, State: api.MigrationRunning,
		DataTotal: 100 << 20, DataProcessed: processed << 20, DataRemaining: (100 - processed) << 20}
}

func done(vm, from, to string) api.Migration {
	return api.Migration{VM: vm, From: from, To: to, Live: true, State: api.MigrationDone,
		Elapsed: 1234 * time.Millisecond, Downtime: 45300 * time.Microsecond}
}

func TestHostDrain(t *testing.T) {
	f := &fakeAgent{
		vms: map[string]api.VM{
			"a-ha":  {Name: "a-ha", Host: "h1", State: "running", HA: api.VMHA{Enabled: true, Active: "h1", Passive: "h3", Epoch: 4}},
			"db1":   {Name: "db1", Host: "h1", State: "shutoff"},
			"other": {Name: "other", Host: "h9", State: "running", HA: api.VMHA{Enabled: true, Active: "h9", Passive: "h1"}},
			"web1":  {Name: "web1", Host: "h1", State: "paused"},
		},
		switchAfter: map[string]int{"a-ha": 2},
		migrations:  map[string][]api.Migration{"web1": {running("web1", "h1", "h2", 0), running("web1", "h1", "h2", 50), done("web1", "h1", "h2")}},
		refuse:      map[string]string{"db1": "no host has room for db1 (1 GiB)"},
	}
	vmnode := vmnodeWith(t, f)
	code, out, errOut := vmnode("host", "drain", "h1")
	if code != 1 {
		t.Errorf("exit %d, want 1 (db1 could not move)\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"h1 is in maintenance",
		"migrated web1 from h1 to h2 in 1.23s (downtime 45ms)\n",
		"a-ha: switched over to h3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// The table: the VMs that are not HA first, while the HA ones switch over.
	table := regexp.MustCompile(`(?m)^VM +FROM +TO +TIME +RESULT\n` +
		`db1 +h1 +- +\S+ +failed: no host has room for db1 \(1 GiB\)\n` +
		`web1 +h1 +h2 +\S+ +migrated\n` +
		`a-ha +h1 +h3 +\S+ +switched over\n`)
	if !table.MatchString(out) {
		t.Errorf("no summary table in:\n%s", out)
	}
	for _, want := range []string{
		"warning: h1 is the passive host of other (active h9)",
		"db1: failed: no host has room for db1",
		"1 of 3 VMs could not leave h1: it stays in maintenance; `vmnode host drain h1` again retries them",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if len(f.hostReqs) != 1 || f.hostReqs[0] != (api.HostRequest{Host: "h1", Maintenance: true}) {
		t.Errorf("host requests %+v, want one putting h1 in maintenance", f.hostReqs)
	}
	// The scheduler picks (no To); a paused VM migrates live, a shut-off
	// one offline; nothing asks to move the VM h1 is only the passive of.
	want := []api.VMRequest{{Op: api.VMMigrate, Name: "db1", Offline: true}, {Op: api.VMMigrate, Name: "web1"}}
	if got := f.requests(api.VMMigrate); !reflect.DeepEqual(got, want) {
		t.Errorf("migrate requests %+v, want %+v", got, want)
	}
}

func TestHostDrainAgainHasNothingToMove(t *testing.T) {
	vmnode := vmnodeWith(t, &fakeAgent{vms: map[string]api.VM{"web1": {Name: "web1", Host: "h2"}}})
	code, out, errOut := vmnode("host", "drain", "h1")
	if code != 0 || !strings.Contains(out, "nothing to move: no VM runs or is defined on h1\n") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if strings.Contains(out, "RESULT") {
		t.Errorf("a summary table with nothing moved:\n%s", out)
	}
}

func TestHostDrainHAVMThatDoesNotSwitchOver(t *testing.T) {
	f := &fakeAgent{vms: map[string]api.VM{
		"ha1": {Name: "ha1", Host: "h1", State: "running", HA: api.VMHA{Enabled: true, Active: "h1", Passive: "h2"}},
	}}
	vmnode := vmnodeWith(t, f)
	code, out, errOut := vmnode("host", "drain", "h1", "--timeout", "1s")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !regexp.MustCompile(`(?m)^ha1 +h1 +h2 +\S+ +failed: no switchover: timed out after 1s: ha1 is running on h1; see .vmnode ha status.$`).MatchString(out) {
		t.Errorf("summary:\n%s\nstderr:\n%s", out, errOut)
	}
	if len(f.requests(api.VMMigrate)) != 0 {
		t.Errorf("drain migrated an HA VM itself: %+v", f.requests(api.VMMigrate))
	}
}

func TestHostResume(t *testing.T) {
	f := &fakeAgent{}
	code, out, _ := vmnodeWith(t, f)("host", "resume", "h1")
	if code != 0 || out != "h1 is out of maintenance: it takes new VMs again\n" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	if len(f.hostReqs) != 1 || f.hostReqs[0] != (api.HostRequest{Host: "h1"}) {
		t.Errorf("host requests %+v", f.hostReqs)
	}
}

func TestHostDrainSummary(t *testing.T) {
	var b bytes.Buffer
	rows := []drainRow{
		{VM: "web1", From: "h1", To: "h2", Took: 1234 * time.Millisecond, Result: "migrated"},
		{VM: "db10", From: "h1", Result: "failed: no host has room", Failed: true},
	}
	if err := writeDrainSummary(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"VM    FROM  TO  TIME   RESULT\n" +
		"web1  h1    h2  1.23s  migrated\n" +
		"db10  h1    -   -      failed: no host has room\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if n := failedRows(rows); n != 1 {
		t.Errorf("failedRows = %d, want 1", n)
	}
}

func TestMigrateCommand(t *testing.T) {
	failed := running("web1", "h1", "h2", 30)
	failed.State, failed.Error = api.MigrationFailed, "unable to connect to h2: connection refused"
	cases := []struct {
		name       string
		seq        []api.Migration
		args       []string
		code       int
		stdout     string // exact, or a prefix ending in "…"
		stderr     string // contained
		polls      bool
		wantTo     string
		wantOffine bool
	}{
		{name: "live", seq: []api.Migration{running("web1", "h1", "h2", 0), running("web1", "h1", "h2", 60), done("web1", "h1", "h2")},
			args: []string{"--to", "h2"}, stdout: "migrated web1 from h1 to h2 in 1.23s (downtime 45ms)\n", polls: true, wantTo: "h2"},
		{name: "scheduler", seq: []api.Migration{running("web1", "h1", "h2", 0), done("web1", "h1", "h2")},
			stdout: "placing on h2: most memory left\nmigrated web1 from h1 to h2 in 1.23s (downtime 45ms)\n", polls: true},
		{name: "offline", seq: []api.Migration{{VM: "web1", From: "h1", To: "h3", State: api.MigrationDone}},
			args: []string{"--offline", "--to", "h3"}, stdout: "moved the definition of web1 from h1 to h3\n", wantTo: "h3", wantOffine: true},
		{name: "failed", seq: []api.Migration{running("web1", "h1", "h2", 0), failed}, args: []string{"--to", "h2"}, code: 1,
			stderr: "migrate web1 from h1 to h2: unable to connect to h2: connection refused; web1 is still on h1\n", polls: true, wantTo: "h2"},
		{name: "no wait", seq: []api.Migration{running("web1", "h1", "h2", 0)}, args: []string{"--to", "h2", "--wait=false"},
			stdout: "migrating web1 from h1 to h2; follow it with `vmnode vm show web1`\n", wantTo: "h2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAgent{
				vms:        map[string]api.VM{"web1": {Name: "web1", Host: "h1", State: "running"}},
				migrations: map[string][]api.Migration{"web1": tc.seq},
				placement:  &api.Placement{Host: "h2", Reason: "most memory left"},
			}
			code, out, errOut := vmnodeWith(t, f)(append([]string{"vm", "migrate", "web1"}, tc.args...)...)
			if code != tc.code || out != tc.stdout || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("exit %d, want %d\nstdout: %q\nwant:   %q\nstderr: %q\nwant it to contain %q", code, tc.code, out, tc.stdout, errOut, tc.stderr)
			}
			want := []api.VMRequest{{Op: api.VMMigrate, Name: "web1", To: tc.wantTo, Offline: tc.wantOffine}}
			if got := f.requests(api.VMMigrate); !reflect.DeepEqual(got, want) {
				t.Errorf("requests %+v, want %+v", got, want)
			}
			if polled := len(f.requests(api.VMMigration)) > 0; polled != tc.polls {
				t.Errorf("polled: %v, want %v", polled, tc.polls)
			}
		})
	}
}

func TestMigrateJSONIsTheFinalMigration(t *testing.T) {
	f := &fakeAgent{
		vms:        map[string]api.VM{"web1": {Name: "web1", Host: "h1", State: "running"}},
		migrations: map[string][]api.Migration{"web1": {running("web1", "h1", "h2", 0), done("web1", "h1", "h2")}},
	}
	code, out, errOut := vmnodeWith(t, f)("vm", "migrate", "web1", "--to", "h2", "-o", "json")
	var m api.Migration
	if err := json.Unmarshal([]byte(out), &m); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\nstdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	if m != done("web1", "h1", "h2") {
		t.Errorf("got %+v", m)
	}
}

func TestMigrateCtrlCStopsWaitingOnly(t *testing.T) {
	f := &fakeAgent{
		vms:        map[string]api.VM{"web1": {Name: "web1", Host: "h1", State: "running"}},
		migrations: map[string][]api.Migration{"web1": {running("web1", "h1", "h2", 10)}}, // never ends
	}
	vmnode := vmnodeWith(t, f)
	type result struct {
		code        int
		out, errOut string
	}
	res := make(chan result, 1)
	go func() {
		code, out, errOut := vmnode("vm", "migrate", "web1", "--to", "h2")
		res <- result{code, out, errOut}
	}()
	// Polling means followMigration has its SIGINT handler in place.
	deadline := time.Now().Add(5 * time.Second)
	for len(f.requests(api.VMMigration)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no poll within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-res:
		want := "stopped waiting: the migration of web1 to h2 goes on from h1; follow it with `vmnode vm show web1`"
		if r.code != 130 || !strings.Contains(r.errOut, want) || r.out != "" {
			t.Errorf("exit %d, want 130\nstdout: %q\nstderr: %q", r.code, r.out, r.errOut)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-C did not stop the wait")
	}
}

func TestMigrationProgressLine(t *testing.T) {
	cases := []struct {
		name string
		m    api.Migration
		want string
	}{
		{"preparing", api.Migration{State: api.MigrationRunning, Elapsed: 1400 * time.Millisecond},
			"web1 → h2: preparing the target (1s)"},
		{"half", api.Migration{DataTotal: 4 << 30, DataProcessed: 1 << 30, DataRemaining: 3 << 30, BytesPerSec: 112 << 20, Downtime: 300 * time.Millisecond},
			"web1 → h2 [#####...............]  25%  3GiB left  112MiB/s  downtime ~300ms"},
		{"no rate yet", api.Migration{DataTotal: 100, DataProcessed: 100},
			"web1 → h2 [####################] 100%  0B left"},
		// Total grows as the guest dirties memory; the bar never overflows.
		{"processed past total", api.Migration{DataTotal: 100, DataProcessed: 150, DataRemaining: 20},
			"web1 → h2 [####################] 100%  20B left"},
	}
	for _, tc := range cases {
		if got := migrationLine("web1 → h2", tc.m); got != tc.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestMigrationBarDrawsOnlyOnATerminal(t *testing.T) {
	var b bytes.Buffer
	bar := newMigrationBar(&globals{stderr: &b}, "web1 → h2", false)
	bar.draw(running("web1", "h1", "h2", 50))
	bar.clear()
	if b.Len() != 0 {
		t.Errorf("drew on a buffer: %q", b.String())
	}
	bar = &migrationBar{w: &b, label: "web1 → h2", on: true}
	bar.draw(running("web1", "h1", "h2", 50))
	bar.clear()
	if want := "\rweb1 → h2 [##########..........]  50%  50MiB left\x1b[K\r\x1b[K"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestMigratedLineAndDurations(t *testing.T) {
	m := done("web1", "h1", "h2")
	if got, want := migratedLine(m), "migrated web1 from h1 to h2 in 1.23s (downtime 45ms)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	m.Downtime = 0
	if got, want := migratedLine(m), "migrated web1 from h1 to h2 in 1.23s"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for d, want := range map[time.Duration]string{
		65*time.Second + 123456*time.Microsecond: "1m5.12s",
		45300 * time.Microsecond:                 "45ms",
		800 * time.Microsecond:                   "800µs",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
