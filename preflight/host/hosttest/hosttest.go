// Package hosttest builds host views for tests: a fixture tree read as under
// --root, or the same tree presented as a live host with scripted kernel,
// commands and NTP answers.
package hosttest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmnode/vmnode/preflight/host"
)

// Fixed is the clock every test host uses.
var Fixed = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// TreeDir is the path of a fixture tree in preflight/checks/testdata/hosts.
func TreeDir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "checks", "testdata", "hosts", name)
}

// Tree is the fixture tree `name` read as `vmnode preflight --root` would.
func Tree(t testing.TB, name string) *host.Host {
	t.Helper()
	return Rooted(t, TreeDir(name))
}

// Rooted is the directory dir read as under --root.
func Rooted(t testing.TB, dir string) *host.Host {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("fixture tree: %v", err)
	}
	h := &host.Host{
		Root:  dir,
		Files: host.RootFS(dir),
		Clock: func() time.Time { return Fixed },
	}
	h.Exec, h.NTP, h.Kernel = host.NotLive{}, host.NotLive{}, host.NotLive{}
	if b, err := os.ReadFile(filepath.Join(dir, "etc/hostname")); err == nil {
		h.Hostname = strings.TrimSpace(string(b))
	}
	return h
}

// Live is the directory dir presented as a live host whose kernel, commands
// and NTP servers answer as k, r and n say.
func Live(t testing.TB, dir string, k *Kernel, r Runner, n NTP) *host.Host {
	t.Helper()
	h := Rooted(t, dir)
	h.Live = true
	h.Kernel, h.Exec, h.NTP = k, r, n
	return h
}

// Kernel is a scripted host.Kernel. Err, when set, is returned by every
// method that has no more specific answer.
type Kernel struct {
	MachineName string
	Devices     map[string]error  // OpenDevice answers; missing means fs.ErrNotExist
	FSSize      map[string]uint64 // FilesystemSize answers
	LinkList    []host.Link
	Route       *host.Route // nil: no default route
	PingRTT     time.Duration
	PingErr     error
	SocketList  []host.Socket
	Err         error
}

// Sockets implements host.Kernel.
func (k *Kernel) Sockets() ([]host.Socket, error) { return k.SocketList, k.Err }

// Machine implements host.Kernel.
func (k *Kernel) Machine() (string, error) { return k.MachineName, k.Err }

// OpenDevice implements host.Kernel.
func (k *Kernel) OpenDevice(p string) error {
	if err, ok := k.Devices[p]; ok {
		return err
	}
	return fmt.Errorf("open %s: %w", p, os.ErrNotExist)
}

// FilesystemSize implements host.Kernel.
func (k *Kernel) FilesystemSize(p string) (uint64, error) {
	if n, ok := k.FSSize[p]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("statfs %s: %w", p, os.ErrNotExist)
}

// Links implements host.Kernel.
func (k *Kernel) Links() ([]host.Link, error) { return k.LinkList, k.Err }

// DefaultRoute implements host.Kernel.
func (k *Kernel) DefaultRoute() (host.Route, bool, error) {
	if k.Route == nil {
		return host.Route{}, false, k.Err
	}
	return *k.Route, true, nil
}

// Ping implements host.Kernel.
func (k *Kernel) Ping(_ context.Context, _ netip.Addr) (time.Duration, error) {
	return k.PingRTT, k.PingErr
}

// Runner answers commands from a table keyed by the command line
// ("dmidecode -s baseboard-product-name"). A missing entry fails as a
// command that is not installed would.
type Runner map[string]Output

// Output is a scripted command result.
type Output struct {
	Stdout string
	Err    error
}

// Run implements host.Runner.
func (r Runner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	o, ok := r[line]
	if !ok {
		return nil, fmt.Errorf("exec %s: executable file not found in $PATH", name)
	}
	return []byte(o.Stdout), o.Err
}

// NTP answers offsets per server; a missing server is unreachable.
type NTP map[string]time.Duration

// Offset implements host.TimeSource.
func (n NTP) Offset(_ context.Context, server string) (time.Duration, error) {
	if d, ok := n[server]; ok {
		return d, nil
	}
	return 0, fmt.Errorf("ntp %s: read udp: i/o timeout", server)
}
