package host

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// lifetimeForever is the kernel's IFA_CACHEINFO valid lifetime of an
// address that never expires.
const lifetimeForever = 0xFFFFFFFF

// defaultPingWait bounds a ping whose ctx has no deadline.
const defaultPingWait = 3 * time.Second

// Links implements Kernel with netlink: every link with its IPv4 and IPv6
// addresses, flags and remaining lifetimes.
func (Live) Links() ([]Link, error) {
	links, err := netlink.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list links: %w", err)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	out := make([]Link, 0, len(links))
	for _, l := range links {
		a := l.Attrs()
		out = append(out, Link{Name: a.Name, Index: a.Index, Up: a.Flags&net.FlagUp != 0})
	}
	for _, ad := range addrs {
		i := slices.IndexFunc(out, func(l Link) bool { return l.Index == ad.LinkIndex })
		if i < 0 || ad.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(ad.IP)
		if !ok {
			continue
		}
		ones, _ := ad.Mask.Size()
		lft := time.Duration(0)
		if ad.ValidLft != 0 && uint32(ad.ValidLft) != lifetimeForever {
			lft = time.Duration(ad.ValidLft) * time.Second
		}
		out[i].Addrs = append(out[i].Addrs, Addr{
			Prefix:    netip.PrefixFrom(ip.Unmap(), ones),
			Permanent: ad.Flags&unix.IFA_F_PERMANENT != 0,
			ValidLft:  lft,
		})
	}
	return out, nil
}

// DefaultRoute implements Kernel: the IPv4 default route of the main table
// with the lowest metric.
func (Live) DefaultRoute() (Route, bool, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return Route{}, false, fmt.Errorf("list routes: %w", err)
	}
	best, found := netlink.Route{}, false
	for _, r := range routes {
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 {
				continue
			}
		}
		if r.Type != unix.RTN_UNICAST && r.Type != 0 {
			continue // blackhole, unreachable, prohibit
		}
		if !found || r.Priority < best.Priority {
			best, found = r, true
		}
	}
	if !found {
		return Route{}, false, nil
	}
	gw, idx := best.Gw, best.LinkIndex
	if gw == nil && len(best.MultiPath) > 0 {
		gw, idx = best.MultiPath[0].Gw, best.MultiPath[0].LinkIndex
	}
	var out Route
	if a, ok := netip.AddrFromSlice(gw); ok {
		out.Gateway = a.Unmap()
	}
	if l, err := netlink.LinkByIndex(idx); err == nil {
		out.Link = l.Attrs().Name
	}
	return out, true, nil
}

// Ping implements Kernel: one ICMP echo to addr. It uses a raw socket when
// it may (root, CAP_NET_RAW) and the unprivileged ICMP datagram socket
// (net.ipv4.ping_group_range) otherwise. It gives up when ctx is done, or
// after 3s when ctx has no deadline.
func (Live) Ping(ctx context.Context, addr netip.Addr) (time.Duration, error) {
	if !addr.Is4() && !addr.Is4In6() {
		return 0, fmt.Errorf("ping %s: only IPv4 is supported", addr)
	}
	rtt, err := ping(ctx, "ip4:icmp", addr.Unmap())
	if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		rtt, err = ping(ctx, "udp4", addr.Unmap())
	}
	return rtt, err
}

func ping(ctx context.Context, network string, addr netip.Addr) (time.Duration, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultPingWait)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("ping %s: %w", addr, err)
	}
	c, err := icmp.ListenPacket(network, "0.0.0.0")
	if err != nil {
		return 0, fmt.Errorf("ping %s: listen %s: %w", addr, network, err)
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		return 0, fmt.Errorf("ping %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()

	id, seq := rand.IntN(0xffff), rand.IntN(0xffff)
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("vmnode preflight")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return 0, fmt.Errorf("ping %s: %w", addr, err)
	}
	var dst net.Addr = &net.IPAddr{IP: addr.AsSlice()}
	raw := network != "udp4"
	if !raw {
		dst = &net.UDPAddr{IP: addr.AsSlice()}
	}
	start := time.Now()
	if _, err := c.WriteTo(b, dst); err != nil {
		return 0, fmt.Errorf("ping %s: send: %w", addr, err)
	}
	buf := make([]byte, 1500)
	for {
		n, peer, err := c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return 0, fmt.Errorf("ping %s: no reply: %w", addr, ctx.Err())
			}
			return 0, fmt.Errorf("ping %s: no reply: %w", addr, err)
		}
		if !samePeer(peer, addr) {
			continue
		}
		m, err := icmp.ParseMessage(1, buf[:n])
		if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
			continue
		}
		// The kernel rewrites the ID of an unprivileged ping to the socket's
		// port, and only hands that socket its own replies.
		if e, ok := m.Body.(*icmp.Echo); ok && e.Seq == seq && (!raw || e.ID == id) {
			return time.Since(start), nil
		}
	}
}

func samePeer(peer net.Addr, want netip.Addr) bool {
	var ip net.IP
	switch p := peer.(type) {
	case *net.IPAddr:
		ip = p.IP
	case *net.UDPAddr:
		ip = p.IP
	default:
		return false
	}
	a, ok := netip.AddrFromSlice(ip)
	return ok && a.Unmap() == want
}
