// Package host is the read-only view of a machine that preflight checks look
// at: its files (under a root), the commands it can run, its clock, its NTP
// servers and, when live, its kernel and network. Nothing in it writes.
package host

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"time"
)

// ErrNotLive is returned by live-only facts under --root.
var ErrNotLive = errors.New("not available under --root: needs the live kernel")

// Host is what a check may look at. Checks get it passed in and never reach
// the machine through os.* themselves.
type Host struct {
	Root    string // "/" for the live host, or the --root directory
	Files   fs.FS  // the files under Root; read-only by type
	Live    bool   // false under --root: kernel, network and live state are unavailable
	Offline bool   // send no packet off the host (loopback is fine)

	Hostname      string
	Address       netip.Addr // the node address; invalid when none could be found
	AddressSource string     // where Address came from: "--address", "config", "default route", "static config"

	NTPServers []string // --ntp-server or config; empty means "from chrony/ntp config"

	Exec   Runner // runs commands with LC_ALL=C; fails with ErrNotLive under --root
	Clock  func() time.Time
	NTP    TimeSource // offset against an NTP server
	Kernel Kernel     // live kernel and network facts
}

// Runner runs a command and returns its standard output.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// TimeSource measures the local clock's offset against an NTP server
// ("host" or "host:port").
type TimeSource interface {
	Offset(ctx context.Context, server string) (time.Duration, error)
}

// Kernel gives facts only the running kernel knows. Every method returns
// ErrNotLive under --root.
type Kernel interface {
	// Machine is `uname -m`.
	Machine() (string, error)
	// OpenDevice opens path read-write and closes it again: is it usable?
	OpenDevice(path string) error
	// FilesystemSize is the total size in bytes of the filesystem holding path.
	FilesystemSize(path string) (uint64, error)
	// Links lists the network interfaces and their addresses.
	Links() ([]Link, error)
	// DefaultRoute is the IPv4 default route; ok is false when there is none.
	DefaultRoute() (r Route, ok bool, err error)
	// Ping sends one ICMP echo to addr and waits for the reply.
	Ping(ctx context.Context, addr netip.Addr) (time.Duration, error)
	// Sockets lists the TCP and UDP sockets (IPv4 and IPv6) of the host's
	// network namespace.
	Sockets() ([]Socket, error)
}

// Socket is a TCP or UDP socket.
type Socket struct {
	Proto  string // "tcp" or "udp"
	Local  netip.AddrPort
	Remote netip.AddrPort
	State  uint8  // kernel TCP state; SocketListen for a listener, SocketClose for an unconnected UDP socket
	Inode  uint64 // 0 for sockets the kernel holds itself (e.g. a VXLAN device)
}

// Kernel socket states (include/net/tcp_states.h).
const (
	SocketEstablished uint8 = 0x01
	SocketClose       uint8 = 0x07
	SocketListen      uint8 = 0x0A
)

// Link is a network interface.
type Link struct {
	Name  string
	Index int
	Up    bool
	Addrs []Addr
}

// Addr is an address on a link.
type Addr struct {
	Prefix    netip.Prefix
	Permanent bool          // configured statically (IFA_F_PERMANENT)
	ValidLft  time.Duration // remaining valid lifetime; 0 when forever
}

// Route is a default route.
type Route struct {
	Gateway netip.Addr
	Link    string // outgoing interface name
}
