//go:build !linux

package lab

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Net is a private network of hosts in network namespaces.
type Net struct{}

// Host is one machine of a Net.
type Host struct {
	Name string
	NS   string
	Addr netip.Addr
}

// Proc is a process Start-ed on a Host.
type Proc struct{ Cmd *exec.Cmd }

// NewNet skips: the lab needs Linux.
func NewNet(t testing.TB, n int) *Net { t.Skip("lab: needs Linux"); return nil }

// Prefix is the Net's subnet.
func (n *Net) Prefix() netip.Prefix { return netip.Prefix{} }

// BridgeNS is the name of the namespace holding the bridge.
func (n *Net) BridgeNS() string { return "" }

// Hosts returns the hosts in order.
func (n *Net) Hosts() []*Host { return nil }

// Host returns host i, 0-based.
func (n *Net) Host(i int) *Host { return nil }

// AddHost skips: the lab needs Linux.
func (n *Net) AddHost(t testing.TB) *Host { t.Skip("lab: needs Linux"); return nil }

// Cut takes h's link down.
func (n *Net) Cut(h *Host) {}

// Restore brings h's link up again.
func (n *Net) Restore(h *Host) {}

// Partition splits the network into groups.
func (n *Net) Partition(groups ...[]*Host) {}

// Block cuts the path between a and b only.
func (n *Net) Block(a, b *Host) {}

// Heal undoes every Partition and Block.
func (n *Net) Heal() {}

// Command returns a command that runs inside h's namespace.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}

// Do runs fn in h's network namespace.
func (h *Host) Do(fn func() error) error { return errors.ErrUnsupported }

// Dial connects from h to address.
func (h *Host) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return nil, errors.ErrUnsupported
}

// Listen listens in h.
func (h *Host) Listen(network, address string) (net.Listener, error) {
	return nil, errors.ErrUnsupported
}

// ListenPacket listens in h.
func (h *Host) ListenPacket(network, address string) (net.PacketConn, error) {
	return nil, errors.ErrUnsupported
}

// Start skips: the lab needs Linux.
func (h *Host) Start(t testing.TB, name string, args ...string) *Proc {
	t.Skip("lab: needs Linux")
	return nil
}

// StartCmd skips: the lab needs Linux.
func (h *Host) StartCmd(t testing.TB, cmd *exec.Cmd) *Proc { t.Skip("lab: needs Linux"); return nil }

// Kill SIGKILLs every process Start-ed on h.
func (h *Host) Kill() {}

// Pause SIGSTOPs every process Start-ed on h.
func (h *Host) Pause() {}

// Resume SIGCONTs every process Start-ed on h.
func (h *Host) Resume() {}

// Log returns what the process wrote so far.
func (p *Proc) Log() string { return "" }

// LogPath is the file the process writes to.
func (p *Proc) LogPath() string { return "" }

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return os.ErrProcessDone }

// Alive reports whether the process has not exited.
func (p *Proc) Alive() bool { return false }

// Wait waits up to timeout for the process to exit.
func (p *Proc) Wait(timeout time.Duration) (exited bool, err error) { return true, nil }
