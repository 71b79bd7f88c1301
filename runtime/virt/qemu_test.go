package virt

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// qemuPid reads the pid libvirt wrote for a running QEMU domain.
func qemuPid(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/run/libvirt/qemu", name+".pid"))
	must(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("pid file of %s: %q", name, b)
	}
	return pid
}

// A real 64 MiB TCG guest on qemu:///system: define, start, a shutdown
// request, destroy (expected), start again, SIGKILL its QEMU (unexpected),
// undefine.
func TestLifecycleQEMU(t *testing.T) {
	c := dial(t, qemuURI, "", nil)
	ctx := testCtx(t)
	name := testName("tcg")
	removeQEMUDomain(t, name)

	must(t, c.Define(ctx, tcgDomainXML(name)))
	waitEvent(t, c, "defined", domainEvent(name, EventDefined))

	t0 := time.Now()
	must(t, c.Start(ctx, name))
	startTook := time.Since(t0)
	ev := waitEvent(t, c, "started", domainEvent(name, EventStarted))
	if ev.Detail != "booted" || ev.Unexpected {
		t.Errorf("start event = %v, want started/booted", ev)
	}
	d, err := c.Get(ctx, name)
	must(t, err)
	if d.State != StateRunning || d.Reason != "booted" || !d.Persistent || !strings.Contains(string(d.XML), "<domain type='qemu' id=") {
		t.Errorf("running domain: %s/%s persistent=%v XML %.60q", d.State, d.Reason, d.Persistent, d.XML)
	}

	// A diskless guest has no OS to honour ACPI: the request is accepted
	// and nothing happens.
	must(t, c.Shutdown(ctx, name))
	must(t, c.Reboot(ctx, name))

	t0 = time.Now()
	must(t, c.Destroy(ctx, name))
	destroyTook := time.Since(t0)
	ev = waitEvent(t, c, "stopped", domainEvent(name, EventStopped))
	if ev.Detail != "destroyed" || ev.Unexpected {
		t.Errorf("destroy event = %v, want stopped/destroyed, expected", ev)
	}
	if err := c.Destroy(ctx, name); !errors.Is(err, ErrNotRunning) {
		t.Errorf("second Destroy = %v, want ErrNotRunning", err)
	}
	t.Logf("TCG 64 MiB: Start %s, Destroy %s", startTook.Round(time.Millisecond), destroyTook.Round(time.Millisecond))

	// The QEMU process dies without libvirt asking: stopped/failed.
	must(t, c.Start(ctx, name))
	waitEvent(t, c, "started again", domainEvent(name, EventStarted))
	if err := c.Start(ctx, name); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("Start of a running domain = %v, want ErrAlreadyRunning", err)
	}
	pid := qemuPid(t, name)
	must(t, syscall.Kill(pid, syscall.SIGKILL))
	ev = waitEvent(t, c, "stopped after SIGKILL", domainEvent(name, EventStopped))
	if !ev.Unexpected || ev.Detail != "failed" {
		t.Errorf("event after SIGKILL of QEMU = %v, want stopped/failed, unexpected", ev)
	}
	t.Logf("SIGKILL of QEMU pid %d: event %v", pid, ev)
	must(t, c.WaitState(ctx, name, StateShutoff))
	// libvirt 9 reports the same death as state shutoff/crashed (the event
	// says failed, the state reason crashed).
	if d, _ = c.Get(ctx, name); d.State != StateShutoff || d.Reason != "crashed" {
		t.Errorf("state after SIGKILL: %s/%s, want shutoff/crashed", d.State, d.Reason)
	}

	// WaitState is woken by the events.
	must(t, c.Start(ctx, name))
	must(t, c.WaitState(ctx, name, StateRunning))
	errc := make(chan error, 1)
	go func() { errc <- c.Destroy(ctx, name) }()
	must(t, c.WaitState(ctx, name, StateShutoff))
	must(t, <-errc)

	must(t, c.Undefine(ctx, name))
	waitEvent(t, c, "undefined", domainEvent(name, EventUndefined))
	if _, err := c.Get(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Undefine = %v, want ErrNotFound", err)
	}
}
