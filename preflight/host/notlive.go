package host

import (
	"context"
	"net/netip"
	"time"
)

// NotLive answers every live fact with ErrNotLive; it is the Kernel, Runner
// and TimeSource of a host read under --root.
type NotLive struct{}

// Machine implements Kernel.
func (NotLive) Machine() (string, error) { return "", ErrNotLive }

// OpenDevice implements Kernel.
func (NotLive) OpenDevice(string) error { return ErrNotLive }

// FilesystemSize implements Kernel.
func (NotLive) FilesystemSize(string) (uint64, error) { return 0, ErrNotLive }

// Links implements Kernel.
func (NotLive) Links() ([]Link, error) { return nil, ErrNotLive }

// DefaultRoute implements Kernel.
func (NotLive) DefaultRoute() (Route, bool, error) { return Route{}, false, ErrNotLive }

// Ping implements Kernel.
func (NotLive) Ping(context.Context, netip.Addr) (time.Duration, error) { return 0, ErrNotLive }

// Sockets implements Kernel.
func (NotLive) Sockets() ([]Socket, error) { return nil, ErrNotLive }

// Run implements Runner.
func (NotLive) Run(context.Context, string, ...string) ([]byte, error) { return nil, ErrNotLive }

// Offset implements TimeSource.
func (NotLive) Offset(context.Context, string) (time.Duration, error) { return 0, ErrNotLive }
