//go:build !linux

package host

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

var errNetUnsupported = errors.New("live network facts need Linux")

// Links implements Kernel; it needs Linux.
func (Live) Links() ([]Link, error) { return nil, errNetUnsupported }

// DefaultRoute implements Kernel; it needs Linux.
func (Live) DefaultRoute() (Route, bool, error) { return Route{}, false, errNetUnsupported }

// Ping implements Kernel; it needs Linux.
func (Live) Ping(context.Context, netip.Addr) (time.Duration, error) {
	return 0, errNetUnsupported
}

// Sockets implements Kernel.
func (Live) Sockets() ([]Socket, error) { return nil, errNetUnsupported }
