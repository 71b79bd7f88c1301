package lab

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Watchdog is a stand-in for a Linux watchdog device: a FIFO that a
// watchdog.Dog opens like /dev/watchdog. Any byte but 'V' pets it and arms
// it; 'V' disarms it (the "magic close") until the next byte. Armed and not
// petted for its timeout, it fires: it calls the test's fire, which plays
// the host reset, and disarms until the next byte.
//
// The reader holds the FIFO open read-write, so it never sees EOF and opening
// never blocks on either side. A writer that closes or dies without 'V' thus
// simply stops petting, and the watchdog fires at the timeout, as a kernel
// watchdog closed without magic close does.
type Watchdog struct {
	timeout time.Duration
	fire    func()
	f       *os.File
	done    chan struct{}

	mu      sync.Mutex
	armed   bool
	lastPet time.Time
	fired   []time.Time
}

// StartWatchdog makes a FIFO at path and reads it until the test ends; the
// FIFO is then removed. fire (may be nil) is called from the watchdog's
// goroutine each time it fires. Skips the test outside Linux.
func StartWatchdog(t testing.TB, path string, timeout time.Duration, fire func()) *Watchdog {
	t.Helper()
	if runtime.GOOS != "linux" {
		// Read deadlines, which time the watchdog, need a pollable FIFO.
		t.Skip("lab: the watchdog stand-in needs Linux")
	}
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("lab: watchdog FIFO %s: %v", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		os.Remove(path)
		t.Fatalf("lab: watchdog FIFO: %v", err)
	}
	w := &Watchdog{timeout: timeout, fire: fire, f: f, done: make(chan struct{})}
	go w.run()
	t.Cleanup(func() {
		f.Close() // ends the pending Read
		<-w.done
		if err := os.Remove(path); err != nil {
			t.Errorf("lab: watchdog FIFO: %v", err)
		}
	})
	return w
}

func (w *Watchdog) run() {
	defer close(w.done)
	buf := make([]byte, 512)
	for {
		w.mu.Lock()
		var deadline time.Time // none while disarmed
		if w.armed {
			deadline = w.lastPet.Add(w.timeout)
		}
		w.mu.Unlock()
		if err := w.f.SetReadDeadline(deadline); err != nil {
			return
		}
		n, err := w.f.Read(buf)
		now := time.Now()
		w.mu.Lock()
		for _, b := range buf[:n] {
			w.armed = b != 'V'
			if w.armed {
				w.lastPet = now
			}
		}
		fire := errors.Is(err, os.ErrDeadlineExceeded) && w.armed && !now.Before(w.lastPet.Add(w.timeout))
		if fire {
			w.armed = false
			w.fired = append(w.fired, now)
		}
		w.mu.Unlock()
		switch {
		case fire && w.fire != nil:
			w.fire()
		case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
			return // closed at cleanup
		}
	}
}

// Fired returns when the watchdog fired.
func (w *Watchdog) Fired() []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.fired)
}

// LastPet returns when the watchdog was last petted; zero if never.
func (w *Watchdog) LastPet() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastPet
}

// Armed reports whether the watchdog counts down: petted since it last
// fired or was disarmed.
func (w *Watchdog) Armed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.armed
}
