//go:build !linux

package watchdog

import (
	"errors"
	"time"
)

var errNotLinux = errors.New("watchdog fencing needs Linux")

// Dog is an open watchdog. Outside Linux none can be opened.
type Dog struct{}

// Open fails: watchdog fencing needs Linux.
func Open(path string, timeout time.Duration) (*Dog, error) { return nil, errNotLinux }

// Pet fails: watchdog fencing needs Linux.
func (d *Dog) Pet() error { return errNotLinux }

// Close fails: watchdog fencing needs Linux.
func (d *Dog) Close(disarm bool) error { return errNotLinux }

// Timeout is zero: no watchdog.
func (d *Dog) Timeout() time.Duration { return 0 }

// Path is empty: no watchdog.
func (d *Dog) Path() string { return "" }
