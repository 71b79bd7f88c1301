package watchdog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// fifoOpenTimeout bounds how long Open waits for the reader of a FIFO
// stand-in to appear.
const fifoOpenTimeout = 2 * time.Second

var (
	pet   = []byte{0}   // any byte but 'V' pets
	magic = []byte("V") // written before closing, stops the watchdog
)

// Dog is an open, armed watchdog. It is safe for concurrent use.
type Dog struct {
	path    string
	timeout time.Duration

	mu sync.Mutex // serialises writes, so a Pet never follows Close's 'V'
	f  *os.File
}

// Open opens and arms the watchdog at path: a Linux watchdog device, whose
// timeout it sets to timeout rounded up to whole seconds, or a FIFO read by
// a stand-in (labs, tests), which Open pets once so that it is armed from
// now on, as a device is.
func Open(path string, timeout time.Duration) (*Dog, error) {
	if timeout <= 0 {
		return nil, fmt.Errorf("open watchdog %s: timeout %v is not positive", path, timeout)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open watchdog: %w", err)
	}
	switch t := fi.Mode().Type(); {
	case t&fs.ModeCharDevice != 0:
		return openDevice(path, timeout)
	case t == fs.ModeNamedPipe:
		return openFIFO(path, timeout)
	default:
		return nil, fmt.Errorf("open watchdog %s: it is %s, not a watchdog device (character device) or a FIFO stand-in", path, describe(t))
	}
}

func describe(t fs.FileMode) string {
	switch t {
	case 0:
		return "a regular file"
	case fs.ModeDir:
		return "a directory"
	case fs.ModeSocket:
		return "a socket"
	case fs.ModeDevice:
		return "a block device"
	}
	return "a file of type " + t.String()
}

// openDevice opens a Linux watchdog device, which arms it, and sets its
// timeout. A device that cannot honour the timeout is disarmed again: a
// watchdog slower than the HA timers assume would fence too late.
func openDevice(path string, timeout time.Duration) (*Dog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open watchdog: %w", err)
	}
	d := &Dog{path: path, f: f}
	want := int((timeout + time.Second - 1) / time.Second)
	got, err := setTimeout(f, want)
	if err == nil && got > want {
		err = fmt.Errorf("device reports a timeout of %ds, asked for %ds", got, want)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("watchdog %s: %w", path, err), d.Close(true))
	}
	d.timeout = time.Duration(got) * time.Second
	return d, nil
}

// setTimeout sets the device's timeout in seconds and returns the one it
// then reports: drivers round to what their hardware supports.
func setTimeout(f *os.File, secs int) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var got int
	cerr := rc.Control(func(fd uintptr) {
		if err = unix.IoctlSetPointerInt(int(fd), unix.WDIOC_SETTIMEOUT, secs); err != nil {
			err = fmt.Errorf("set timeout %ds (WDIOC_SETTIMEOUT): %w", secs, err)
			return
		}
		if got, err = unix.IoctlGetInt(int(fd), unix.WDIOC_GETTIMEOUT); err != nil {
			err = fmt.Errorf("read timeout back (WDIOC_GETTIMEOUT): %w", err)
		}
	})
	return got, errors.Join(cerr, err)
}

// openFIFO opens a FIFO stand-in for writing. A blocking open would hang
// until a reader appears, possibly forever; a non-blocking one fails with
// ENXIO while there is none, so it is retried for fifoOpenTimeout.
func openFIFO(path string, timeout time.Duration) (*Dog, error) {
	deadline := time.Now().Add(fifoOpenTimeout)
	for {
		// O_NONBLOCK stays set, which is what Go's poller wants: a write
		// to a full pipe waits in the poller rather than failing.
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			d := &Dog{path: path, timeout: timeout, f: f}
			if err := d.Pet(); err != nil {
				f.Close()
				return nil, fmt.Errorf("open watchdog: %w", err)
			}
			return d, nil
		}
		if !errors.Is(err, syscall.ENXIO) {
			return nil, fmt.Errorf("open watchdog: %w", err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("open watchdog %s: FIFO stand-in has no reader after %v", path, fifoOpenTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pet restarts the watchdog's countdown.
func (d *Dog) Pet() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.f.Write(pet); err != nil {
		return fmt.Errorf("pet watchdog: %w", err)
	}
	return nil
}

// Close closes the watchdog. With disarm it first writes the magic 'V',
// which stops a Linux watchdog (unless its driver was loaded with nowayout).
// Without, the watchdog keeps counting and resets the host when the timeout
// expires: what a hung or killed agent amounts to.
func (d *Dog) Close(disarm bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var werr error
	if disarm {
		if _, err := d.f.Write(magic); err != nil {
			werr = fmt.Errorf("disarm watchdog: %w", err)
		}
	}
	if err := d.f.Close(); err != nil {
		return errors.Join(werr, fmt.Errorf("close watchdog: %w", err))
	}
	return werr
}

// Timeout is the timeout in force: the one the device reports, or, for a
// FIFO stand-in, the one asked for (the stand-in's own is set by whoever
// reads the FIFO).
func (d *Dog) Timeout() time.Duration { return d.timeout }

// Path is the path the watchdog was opened at.
func (d *Dog) Path() string { return d.path }
