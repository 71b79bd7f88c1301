//go:build !linux

package lab

import (
	"context"
	"errors"
	"testing"
)

// Libvirtd is a libvirtd private to one lab Host.
type Libvirtd struct {
	Host     *Host
	Dir      string
	Socket   string
	LocalURI string
	URI      string
	UUID     string
}

// StartLibvirtd skips: the lab needs Linux.
func (h *Host) StartLibvirtd(t testing.TB) *Libvirtd { t.Skip("lab: needs Linux"); return nil }

// LogPath is the file libvirtd writes to.
func (l *Libvirtd) LogPath() string { return "" }

// PID is the running libvirtd's process ID.
func (l *Libvirtd) PID() int { return 0 }

// Start starts the daemon again after Stop.
func (l *Libvirtd) Start() error { return errors.ErrUnsupported }

// Restart restarts libvirtd alone.
func (l *Libvirtd) Restart() error { return errors.ErrUnsupported }

// Stop destroys the running domains and stops the daemon.
func (l *Libvirtd) Stop() error { return nil }

// Virsh runs virsh against this libvirtd.
func (l *Libvirtd) Virsh(args ...string) (string, error) { return "", errors.ErrUnsupported }

// VirshContext is Virsh with a context.
func (l *Libvirtd) VirshContext(ctx context.Context, args ...string) (string, error) {
	return "", errors.ErrUnsupported
}

// HostUUID reads the host UUID the daemon reports.
func (l *Libvirtd) HostUUID() (string, error) { return "", errors.ErrUnsupported }
