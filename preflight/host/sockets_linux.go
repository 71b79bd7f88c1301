package host

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Sockets implements Kernel with sock_diag netlink dumps, as ss(8) does.
// Reading /proc/net/{tcp,udp}{,6} instead costs milliseconds per file on
// some kernels.
func (Live) Sockets() ([]Socket, error) {
	var out []Socket
	for _, q := range []struct {
		proto  string
		family uint8
		dump   func(uint8) ([]*netlink.Socket, error)
	}{
		{"tcp", unix.AF_INET, netlink.SocketDiagTCP},
		{"tcp", unix.AF_INET6, netlink.SocketDiagTCP},
		{"udp", unix.AF_INET, netlink.SocketDiagUDP},
		{"udp", unix.AF_INET6, netlink.SocketDiagUDP},
	} {
		socks, err := q.dump(q.family)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			if q.family == unix.AF_INET6 && errors.Is(err, unix.EAFNOSUPPORT) {
				continue // IPv6 disabled
			}
			return nil, fmt.Errorf("list %s sockets: %w", q.proto, err)
		}
		for _, s := range socks {
			out = append(out, Socket{
				Proto:  q.proto,
				Local:  addrPort(s.ID.Source, s.ID.SourcePort),
				Remote: addrPort(s.ID.Destination, s.ID.DestinationPort),
				State:  s.State,
				Inode:  uint64(s.INode),
			})
		}
	}
	return out, nil
}

func addrPort(ip net.IP, port uint16) netip.AddrPort {
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), port)
}
