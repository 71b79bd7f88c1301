package virt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test driver through libvirtd: the full cycle, fast.
func TestLifecycleTestDriver(t *testing.T) {
	c := dial(t, testURI, "", nil)
	ctx := testCtx(t)
	name := testName("life")

	must(t, c.Define(ctx, testDomainXML(name)))
	ev := waitEvent(t, c, "defined", domainEvent(name, EventDefined))
	if ev.Detail != "added" || ev.Unexpected || len(ev.UUID) != 36 || ev.At.IsZero() {
		t.Errorf("define event = %+v, want defined/added with a UUID and a time", ev)
	}

	d, err := c.Get(ctx, name)
	must(t, err)
	if d.Name != name || d.UUID != ev.UUID || d.State != StateShutoff || !d.Persistent || !strings.Contains(string(d.XML), "<name>"+name+"</name>") {
		t.Errorf("Get after define = %+v (XML %d bytes)", d, len(d.XML))
	}

	must(t, c.Start(ctx, name))
	ev = waitEvent(t, c, "started", domainEvent(name, EventStarted))
	if ev.Detail != "booted" {
		t.Errorf("start event detail = %q, want booted", ev.Detail)
	}
	if d, _ = c.Get(ctx, name); d.State != StateRunning || d.Reason != "booted" {
		t.Errorf("after Start: %s/%s, want running/booted", d.State, d.Reason)
	}
	if err := c.Start(ctx, name); !errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), name) {
		t.Errorf("Start of a running domain = %v, want ErrAlreadyRunning naming it", err)
	}

	must(t, c.Reboot(ctx, name))

	must(t, c.Destroy(ctx, name))
	ev = waitEvent(t, c, "stopped", domainEvent(name, EventStopped))
	if ev.Detail != "destroyed" || ev.Unexpected {
		t.Errorf("destroy event = %v, want stopped/destroyed, expected", ev)
	}
	if d, _ = c.Get(ctx, name); d.State != StateShutoff || d.Reason != "destroyed" {
		t.Errorf("after Destroy: %s/%s, want shutoff/destroyed", d.State, d.Reason)
	}
	for verb, op := range map[string]func(context.Context, string) error{"destroy": c.Destroy, "shut down": c.Shutdown, "reboot": c.Reboot} {
		if err := op(ctx, name); !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), verb+" "+name) {
			t.Errorf("%s of a shut-off domain = %v, want ErrNotRunning naming it", verb, err)
		}
	}

	// Shutdown on the test driver stops at once (it has no ACPI, the
	// adapter falls back to the driver's default method).
	must(t, c.Start(ctx, name))
	must(t, c.Shutdown(ctx, name))
	ev = waitEvent(t, c, "stopped after shutdown", domainEvent(name, EventStopped))
	if ev.Detail != "shutdown" || ev.Unexpected {
		t.Errorf("shutdown event = %v, want stopped/shutdown", ev)
	}

	must(t, c.Undefine(ctx, name))
	ev = waitEvent(t, c, "undefined", domainEvent(name, EventUndefined))
	if ev.Detail != "removed" {
		t.Errorf("undefine event detail = %q, want removed", ev.Detail)
	}
	_, err = c.Get(ctx, name)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), name) {
		t.Errorf("Get after Undefine = %v, want ErrNotFound naming %s", err, name)
	}
}

func TestNotFound(t *testing.T) {
	c := dial(t, testURI, "", nil)
	ctx := testCtx(t)
	name := testName("missing")
	ops := map[string]func() error{
		"get":      func() error { _, err := c.Get(ctx, name); return err },
		"start":    func() error { return c.Start(ctx, name) },
		"shutdown": func() error { return c.Shutdown(ctx, name) },
		"destroy":  func() error { return c.Destroy(ctx, name) },
		"reboot":   func() error { return c.Reboot(ctx, name) },
		"undefine": func() error { return c.Undefine(ctx, name) },
		"wait":     func() error { return c.WaitState(ctx, name, StateRunning) },
	}
	for op, f := range ops {
		err := f()
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want ErrNotFound naming %s", op, err, name)
		}
		if errors.Is(err, ErrDisconnected) || errors.Is(err, ErrInvalidXML) {
			t.Errorf("%s: %v also matches an unrelated sentinel", op, err)
		}
	}
}

func TestDefineRejected(t *testing.T) {
	c := dial(t, testURI, "", nil)
	ctx := testCtx(t)
	name := testName("bad")
	for _, tc := range []struct {
		desc, xml string
		want      []string // in the error message
	}{
		{"not well-formed", "<domain type='test'><name>" + name + "</name>", []string{"define domain " + name + ":", "Premature end of data"}},
		{"fails the schema", "<domain type='test'><name>" + name + "</name><memory>lots</memory><os><type>hvm</type></os></domain>",
			[]string{"define domain " + name + ":", "validate", "memory"}},
		{"no name", "<domain type='test'><memory>65536</memory><os><type>hvm</type></os></domain>", []string{"define domain:"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := c.Define(ctx, []byte(tc.xml))
			if err == nil {
				t.Fatal("Define accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var le *Error
			if !errors.As(err, &le) || le.Code == 0 {
				t.Errorf("error %v carries no libvirt code", err)
			}
			t.Logf("libvirt code %d: %v", le.Code, err)
		})
	}
	// libvirt's XML error codes map to ErrInvalidXML.
	err := c.Define(ctx, []byte("<domain type='test'><name>"+name+"</name><memory>lots</memory><os><type>hvm</type></os></domain>"))
	if !errors.Is(err, ErrInvalidXML) {
		t.Errorf("schema failure %v does not match ErrInvalidXML", err)
	}
	if _, err := c.Get(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Errorf("a rejected domain exists: %v", err)
	}
}

// List with 100 domains: one stats call for states and persistence, XML
// four at a time. The timing is logged (go test -v).
func TestList100(t *testing.T) {
	c := dial(t, testURI, "", nil)
	ctx := testCtx(t)
	const n = 100
	want := map[string]bool{}
	for i := range n {
		name := testName(fmt.Sprintf("list%03d", i))
		want[name] = true
		must(t, c.Define(ctx, testDomainXML(name)))
		if i%10 == 0 {
			must(t, c.Start(ctx, name))
		}
	}
	var (
		doms []Domain
		best time.Duration
	)
	for range 5 {
		t0 := time.Now()
		var err error
		doms, err = c.List(ctx)
		must(t, err)
		if d := time.Since(t0); best == 0 || d < best {
			best = d
		}
	}
	t.Logf("List of %d domains (test:///default via libvirtd): best of 5 %s", len(doms), best)
	running, found := 0, 0
	for _, d := range doms {
		if !want[d.Name] {
			continue // the test driver's own "test" domain
		}
		found++
		if !d.Persistent || len(d.UUID) != 36 || !strings.Contains(string(d.XML), "<name>"+d.Name+"</name>") {
			t.Errorf("List entry %s: persistent=%v uuid=%q xml=%d bytes", d.Name, d.Persistent, d.UUID, len(d.XML))
		}
		switch d.State {
		case StateRunning:
			running++
			if d.Reason != "booted" {
				t.Errorf("%s running for %q, want booted", d.Name, d.Reason)
			}
		case StateShutoff:
		default:
			t.Errorf("%s is %s", d.Name, d.State)
		}
	}
	if found != n || running != n/10 {
		t.Errorf("List found %d of %d domains, %d running (want %d)", found, n, running, n/10)
	}

	// A transient domain is listed as not persistent.
	name := testName("transient")
	must(t, c.Define(ctx, testDomainXML(name)))
	must(t, c.Start(ctx, name))
	must(t, c.Undefine(ctx, name)) // running: becomes transient
	doms, err := c.List(ctx)
	must(t, err)
	for _, d := range doms {
		if d.Name == name && (d.Persistent || d.State != StateRunning) {
			t.Errorf("transient domain listed as %+v", d)
		}
	}
}

func TestWaitState(t *testing.T) {
	c := dial(t, testURI, "", nil)
	ctx := testCtx(t)
	name := testName("wait")
	must(t, c.Define(ctx, testDomainXML(name)))

	// Already there: returns at once.
	must(t, c.WaitState(ctx, name, StateShutoff))

	// Woken by the started event, well before the fallback re-check.
	errc := make(chan error, 1)
	go func() { errc <- c.Start(ctx, name) }()
	t0 := time.Now()
	must(t, c.WaitState(ctx, name, StateRunning))
	must(t, <-errc)
	if d := time.Since(t0); d >= waitFallback {
		t.Errorf("WaitState took %s: not woken by the event", d)
	}

	// A deadline reports the state it last saw.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := c.WaitState(short, name, StatePaused)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "last seen running") {
		t.Errorf("WaitState past its deadline = %v", err)
	}
}

func TestNodeAndVersions(t *testing.T) {
	c := dial(t, qemuURI, "", nil)
	ctx := testCtx(t)
	n, err := c.NodeInfo(ctx)
	must(t, err)
	if n.CPUs < 1 || n.MemoryMiB < 64 || n.FreeMiB <= 0 || n.FreeMiB > n.MemoryMiB || n.Model == "" {
		t.Errorf("NodeInfo = %+v", n)
	}
	lv, qemu, err := c.Versions(ctx)
	must(t, err)
	for _, v := range []string{lv, qemu} {
		if parts := strings.Split(v, "."); len(parts) != 3 || parts[0] == "0" {
			t.Errorf("version %q is not major.minor.micro", v)
		}
	}
	t.Logf("node %+v, libvirt %s, QEMU %s", n, lv, qemu)
}

func TestDialErrors(t *testing.T) {
	requireLibvirtd(t)
	dir := t.TempDir()
	ctx := testCtx(t)

	missing := filepath.Join(dir, "missing.sock")
	_, err := Dial(ctx, Options{Socket: missing, URI: testURI})
	if err == nil || !errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), "libvirtd is not answering on "+missing) ||
		!strings.Contains(err.Error(), "systemctl start libvirtd") {
		t.Errorf("missing socket: %v", err)
	}

	// A socket file nobody listens on: connection refused.
	refusing := filepath.Join(dir, "refusing.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: refusing, Net: "unix"})
	must(t, err)
	ln.SetUnlinkOnClose(false)
	ln.Close()
	_, err = Dial(ctx, Options{Socket: refusing, URI: testURI})
	if err == nil || !strings.Contains(err.Error(), "libvirtd is not answering on "+refusing) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("refusing socket: %v", err)
	}

	// A socket that accepts and never answers: the caller's deadline holds.
	hung := filepath.Join(dir, "hung.sock")
	hl, err := net.Listen("unix", hung)
	must(t, err)
	defer hl.Close()
	go func() {
		for {
			conn, err := hl.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err = Dial(short, Options{Socket: hung, URI: testURI})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "accepted the connection but did not answer") || time.Since(t0) > 5*time.Second {
		t.Errorf("hung libvirtd: %v after %s", err, time.Since(t0))
	}

	// libvirtd answers but has no such driver.
	_, err = Dial(ctx, Options{URI: "vt-nosuchdriver:///x"})
	var le *Error
	if err == nil || !errors.As(err, &le) || !strings.Contains(err.Error(), "refused to open vt-nosuchdriver:///x") {
		t.Errorf("unknown URI: %v", err)
	}
}

func TestClose(t *testing.T) {
	c := dial(t, testURI, "", nil)
	ctx := testCtx(t)
	if !c.Connected() {
		t.Fatal("not connected after Dial")
	}
	must(t, c.Close())
	must(t, c.Close()) // idempotent
	if c.Connected() {
		t.Error("connected after Close")
	}
	if _, err := c.List(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("List after Close = %v, want ErrClosed", err)
	}
	// The event channel ends.
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for open := true; open; {
		select {
		case _, open = <-c.Events():
		case <-timer.C:
			t.Fatal("event channel not closed by Close")
		}
	}
	// Run after Close returns at once.
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run after Close did not return")
	}
}
