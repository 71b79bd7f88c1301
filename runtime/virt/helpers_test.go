package virt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run against the machine's libvirtd (tests/libvirtd.sh starts
// it; `make test` does). Other engineers use the same daemon: every domain
// made here is named vt-<random>-… and destroyed and undefined in
// t.Cleanup; nothing else is touched.

const (
	testURI   = "test:///default" // private state per connection
	qemuURI   = "qemu:///system"
	eventWait = 20 * time.Second
)

func requireLibvirtd(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(DefaultSocket); err != nil {
		t.Fatalf("libvirtd socket: %v — start libvirtd with tests/libvirtd.sh (make test does)", err)
	}
	return DefaultSocket
}

// dial connects (through socket, or the real one when "") and closes the
// Conn at the end of the test.
func dial(t *testing.T, uri, socket string, log *slog.Logger) *Conn {
	t.Helper()
	if socket == "" {
		socket = requireLibvirtd(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, Options{Socket: socket, URI: uri, Log: log, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Dial %s: %v", uri, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var runID = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

var nameSeq struct {
	sync.Mutex
	n int
}

// testName is vt-<random>-<suffix>-<n>: unique on a shared libvirtd.
func testName(suffix string) string {
	nameSeq.Lock()
	defer nameSeq.Unlock()
	nameSeq.n++
	return "vt-" + runID + "-" + suffix + "-" + strconv.Itoa(nameSeq.n)
}

func testDomainXML(name string) []byte {
	return fmt.Appendf(nil, `<domain type='test'><name>%s</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>`, name)
}

// tcgDomainXML is a 64 MiB diskless TCG guest: SeaBIOS finds nothing to
// boot and idles, which is all a lifecycle test needs.
func tcgDomainXML(name string) []byte {
	return fmt.Appendf(nil, `<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <serial type='pty'/>
    <console type='pty'/>
    <memballoon model='none'/>
  </devices>
</domain>`, name)
}

// removeQEMUDomain destroys and undefines name on qemu:///system through
// a connection of its own (the test's may be closed or cut by then).
func removeQEMUDomain(t *testing.T, name string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := Dial(ctx, Options{URI: qemuURI})
		if err != nil {
			t.Errorf("cleanup of %s: %v", name, err)
			return
		}
		defer c.Close()
		if err := c.Destroy(ctx, name); err != nil && !errors.Is(err, ErrNotRunning) && !errors.Is(err, ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
		if err := c.Undefine(ctx, name); err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// waitEvent reads c's events until one matches, failing after timeout.
// Events that do not match (other domains on a shared libvirtd) are
// skipped.
func waitEvent(t *testing.T, c *Conn, what string, match func(Event) bool) Event {
	t.Helper()
	timer := time.NewTimer(eventWait)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("waiting for %s: event channel closed; saw %v", what, seen)
			}
			if match(ev) {
				return ev
			}
			seen = append(seen, ev.String())
		case <-timer.C:
			t.Fatalf("no %s within %s; saw %v", what, eventWait, seen)
		}
	}
}

func domainEvent(name string, kind EventKind) func(Event) bool {
	return func(ev Event) bool { return ev.Domain == name && ev.Kind == kind }
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// pollUntil polls cond until it holds or the deadline passes.
func pollUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logRecorder is a slog.Handler that keeps records for assertions.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
	t    *testing.T
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Level.String() + " " + rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, b.String())
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) count(substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.recs {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func (r *logRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.recs...)
}
