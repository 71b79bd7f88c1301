package watchdog_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vmnode/vmnode/runtime/watchdog"
	"github.com/vmnode/vmnode/tests/lab"
)

const timeout = 400 * time.Millisecond

// armed opens a Dog on a lab stand-in with timeout. resets counts the
// stand-in's firings as seen by its fire function.
func armed(t *testing.T) (d *watchdog.Dog, w *lab.Watchdog, resets *atomic.Int32) {
	t.Helper()
	t.Parallel()
	path := filepath.Join(t.TempDir(), "watchdog")
	resets = new(atomic.Int32)
	w = lab.StartWatchdog(t, path, timeout, func() { resets.Add(1) })
	d, err := watchdog.Open(path, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(true) }) // fails, harmlessly, if the test closed it
	if d.Path() != path || d.Timeout() != timeout {
		t.Errorf("Path, Timeout = %q, %v; want %q, %v", d.Path(), d.Timeout(), path, timeout)
	}
	return d, w, resets
}

// waitFire polls until w has fired, for at most within.
func waitFire(t *testing.T, w *lab.Watchdog, within time.Duration) time.Time {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if f := w.Fired(); len(f) > 0 {
			return f[0]
		}
	}
	t.Fatalf("watchdog did not fire within %v", within)
	return time.Time{}
}

func TestPettedDoesNotFire(t *testing.T) {
	d, w, resets := armed(t)
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if err := d.Pet(); err != nil {
			t.Fatal(err)
		}
	}
	if f := w.Fired(); len(f) > 0 || resets.Load() > 0 {
		t.Fatalf("watchdog petted every 100ms fired at %v (timeout %v)", f, timeout)
	}
	if !w.Armed() || time.Since(w.LastPet()) > 200*time.Millisecond {
		t.Errorf("armed %v, last pet %v ago; want armed, recent pet", w.Armed(), time.Since(w.LastPet()))
	}
}

func TestUnpettedFiresOnce(t *testing.T) {
	d, w, resets := armed(t)
	before := time.Now()
	if err := d.Pet(); err != nil {
		t.Fatal(err)
	}
	// The stand-in reads the pet asynchronously: wait until it has.
	var last time.Time
	for deadline := time.Now().Add(time.Second); last.Before(before); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stand-in did not see the pet within 1s")
		}
		last = w.LastPet()
	}
	at := waitFire(t, w, timeout+200*time.Millisecond)
	if late := at.Sub(last); late < timeout || late > timeout+200*time.Millisecond {
		t.Errorf("fired %v after the last pet, want %v to %v", late, timeout, timeout+200*time.Millisecond)
	}
	// Fired, it is disarmed: it does not fire again without a new pet.
	time.Sleep(2 * timeout)
	if f := w.Fired(); len(f) != 1 || resets.Load() != 1 || w.Armed() {
		t.Errorf("fired at %v, reset %d times, armed %v; want once, disarmed", f, resets.Load(), w.Armed())
	}
}

func TestCloseDisarmed(t *testing.T) {
	d, w, resets := armed(t)
	if err := d.Close(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if f := w.Fired(); len(f) > 0 || resets.Load() > 0 || w.Armed() {
		t.Errorf("after Close(true): fired at %v, armed %v; want no fire, disarmed", f, w.Armed())
	}
	if err := d.Pet(); err == nil {
		t.Error("Pet after Close succeeded")
	}
}

func TestCloseArmedFires(t *testing.T) {
	d, w, resets := armed(t)
	if err := d.Close(false); err != nil {
		t.Fatal(err)
	}
	waitFire(t, w, timeout+200*time.Millisecond)
	if resets.Load() != 1 {
		t.Errorf("fire called %d times, want 1", resets.Load())
	}
}

func TestOpenNotAWatchdog(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("watchdog fencing needs Linux")
	}
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, want string }{
		{"regular file", regular, "regular file"},
		{"directory", dir, "directory"},
		{"missing", filepath.Join(dir, "missing"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := watchdog.Open(tt.path, timeout)
			if err == nil {
				d.Close(true)
				t.Fatalf("Open(%s) succeeded", tt.path)
			}
			if !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%s) = %q, want it to name the path and say %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestOpenFIFOWithoutReader(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("watchdog fencing needs Linux")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "watchdog")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d, err := watchdog.Open(path, timeout)
	if err == nil {
		d.Close(true)
		t.Fatal("Open of a FIFO nobody reads succeeded")
	}
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Errorf("Open gave up after %v, want at most 2.5s", took)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no reader") {
		t.Errorf("Open = %q, want it to name the path and say there is no reader", err)
	}
}

// TestOpenFIFOReaderLate: a stand-in that starts reading within the 2s
// Open waits for is found, and the Dog's first byte arms it.
func TestOpenFIFOReaderLate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("watchdog fencing needs Linux")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "watchdog")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		f, err := os.Open(path) // blocks until Open's writer appears
		if err != nil {
			read <- nil
			return
		}
		defer f.Close()
		b := make([]byte, 1)
		n, _ := f.Read(b)
		read <- b[:n]
	}()
	d, err := watchdog.Open(path, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(true)
	if b := <-read; string(b) != "\x00" {
		t.Errorf("stand-in read %q after Open, want one pet byte", b)
	}
}
