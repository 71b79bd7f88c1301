package netconf

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Methods of IPv4 configuration an Iface can have. A parser that meets a
// method it does not map keeps the distribution's own word (e.g. "ppp").
const (
	MethodStatic   = "static"      // addresses written in the file
	MethodDHCP     = "dhcp"        // address leased from a DHCP server (or SLAAC for inet6 auto)
	MethodNone     = "manual-none" // no IPv4 address: a bond or bridge member, or disabled
	MethodLoopback = "loopback"
)

// Iface is one interface (or connection) as a configuration file describes it.
// One file can describe several, and one interface can appear in several
// files (an ifupdown inet and inet6 stanza, say).
type Iface struct {
	Name    string // interface name; a systemd-networkd pattern may hold globs; "" when matched otherwise (MAC)
	Method  string // MethodStatic, MethodDHCP, MethodNone, MethodLoopback or the file's own word
	Addrs   []netip.Prefix
	Gateway netip.Addr
	Source  string // host path of the file, e.g. /etc/sysconfig/network-scripts/ifcfg-eth0
}

// HasAddr reports whether the file assigns addr to the interface statically.
func (i Iface) HasAddr(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range i.Addrs {
		if p.Addr().Unmap() == addr {
			return true
		}
	}
	return false
}

// IsPattern reports whether Name is a glob (systemd-networkd [Match] Name=en*).
func (i Iface) IsPattern() bool { return strings.ContainsAny(i.Name, "*?[") }

// methodFor is the method of a configuration that is static unless it
// assigns no address.
func methodFor(addrs []netip.Prefix) string {
	if len(addrs) == 0 {
		return MethodNone
	}
	return MethodStatic
}

var errNotText = errors.New("not a text file (invalid UTF-8 or NUL bytes)")

func checkText(data []byte) error {
	if !utf8.Valid(data) || strings.ContainsRune(string(data), 0) {
		return errNotText
	}
	return nil
}

// parsePrefix parses "10.0.0.5/24", or a bare address with the default
// prefix length for its family.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("address %q: %w", s, err)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address %q: %w", s, err)
	}
	return netip.PrefixFrom(a, defaultBits(a)), nil
}

// withMask combines an address with a netmask ("255.255.255.0") or a
// prefix length ("24").
func withMask(a netip.Addr, mask string) (netip.Prefix, error) {
	mask = strings.TrimSpace(mask)
	bits, err := maskBits(mask, a.BitLen())
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, bits), nil
}

func maskBits(mask string, max int) (int, error) {
	if n, err := strconv.Atoi(mask); err == nil {
		if n < 0 || n > max {
			return 0, fmt.Errorf("prefix length %q out of range 0-%d", mask, max)
		}
		return n, nil
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() || max != 32 {
		return 0, fmt.Errorf("netmask %q: want a dotted quad or a prefix length", mask)
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for v&(1<<31) != 0 {
		ones++
		v <<= 1
	}
	if v != 0 {
		return 0, fmt.Errorf("netmask %q is not contiguous", mask)
	}
	return ones, nil
}

// defaultBits is the prefix length used when a file gives none: classful
// for IPv4 (as NetworkManager's ifcfg-rh and ifupdown do), /64 for IPv6.
func defaultBits(a netip.Addr) int {
	if !a.Is4() {
		return 64
	}
	switch first := a.As4()[0]; {
	case first < 128:
		return 8
	case first < 192:
		return 16
	case first < 224:
		return 24
	}
	return 32
}

// ignoredName reports backup and package-manager leftovers that the network
// tools skip (NetworkManager, initscripts).
func ignoredName(base string) bool {
	if strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") {
		return true
	}
	for _, suf := range []string{".bak", ".orig", ".rej", ".rpmnew", ".rpmsave", ".rpmorig", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".augnew", ".augtmp", ".swp", ".tmp"} {
		if strings.HasSuffix(base, suf) {
			return true
		}
	}
	return false
}
