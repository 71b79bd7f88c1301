//go:build !linux

package lab

import (
	"context"
	"testing"
)

// Rootfs skips: the lab needs Linux.
func Rootfs(t testing.TB) string { t.Skip("lab: needs Linux"); return "" }

// Container is a booted systemd-nspawn container with systemd as PID 1.
type Container struct {
	Name   string
	Rootfs string
	Leader int
}

// Boot skips: the lab needs Linux.
func Boot(t testing.TB, rootfs string) *Container { t.Skip("lab: needs Linux"); return nil }

// BusAddress is a D-Bus address of the container's system bus.
func (c *Container) BusAddress() string { return "" }

// Exec runs a command inside the container.
func (c *Container) Exec(args ...string) (string, error) { return "", nil }

// ExecContext is Exec with a context.
func (c *Container) ExecContext(ctx context.Context, args ...string) (string, error) {
	return "", nil
}
