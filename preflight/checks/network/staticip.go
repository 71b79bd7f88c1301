package network

import (
	"context"
	"fmt"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/netconf"
)

func checkStaticIP(_ context.Context, h *host.Host) preflight.Result {
	addr := h.Address.Unmap()
	if !addr.IsValid() {
		return errNoAddress()
	}
	ifaces, errs := netconf.Read(h)
	var static, dhcp []netconf.Iface
	for _, ifc := range ifaces {
		if ifc.Method == netconf.MethodLoopback {
			continue
		}
		if ifc.HasAddr(addr) {
			static = append(static, ifc)
		}
		if ifc.Method == netconf.MethodDHCP {
			dhcp = append(dhcp, ifc)
		}
	}
	expected := addr.String() + " assigned statically in a network configuration file"
	gw := "<gateway IP>"
	for _, ifc := range ifaces {
		if ifc.Gateway.IsValid() && ifc.Gateway.Is4() == addr.Is4() {
			gw = ifc.Gateway.String()
			break
		}
	}
	remedyStatic := func(h *host.Host, addr netip.Addr, bits int, link string) string {
		return remedyStaticFor(h, addr, bits, link, gw)
	}

	if h.Live {
		links, err := h.Kernel.Links()
		if err != nil {
			return preflight.Errorf("cannot list network interfaces: %v", err)
		}
		link, a, found := findAddr(links, addr)
		switch {
		case found && (!a.Permanent || a.ValidLft > 0):
			return preflight.Failf("%s on %s is a DHCP lease (valid for another %s), not a static address", addr, link, lft(a.ValidLft)).
				Saw(fmt.Sprintf("%s on %s, dynamic, valid_lft %s", a.Prefix, link, lft(a.ValidLft)), expected).
				Remedy("%s", remedyStatic(h, addr, a.Prefix.Bits(), link))
		case found && len(static) > 0:
			return preflight.Passf("%s on %s is permanent and assigned statically in %s", addr, link, sources(static))
		case found:
			for _, ifc := range dhcp {
				if ifaceMatches(ifc, link) {
					return preflight.Failf("%s, which carries %s, is configured for DHCP in %s, and no file assigns %s statically", link, addr, ifc.Source, addr).
						Saw(fmt.Sprintf("%s: %s (%s)", link, ifc.Method, ifc.Source), expected).
						Remedy("%s", remedyStatic(h, addr, a.Prefix.Bits(), link))
				}
			}
			if len(errs) > 0 {
				return preflight.Errorf("%s is on %s but some network configuration could not be read: %s", addr, link, joinErrs(errs))
			}
			return preflight.Warnf("%s is on %s, but no network configuration file mentions it: it may not survive a reboot", addr, link).
				Saw(fmt.Sprintf("%s on %s, in no configuration file", a.Prefix, link), expected).
				Remedy("%s", remedyStatic(h, addr, a.Prefix.Bits(), link))
		case len(static) > 0:
			return preflight.Warnf("%s is assigned statically in %s but no interface carries it now", addr, sources(static)).
				Saw(addr.String()+" on no interface", expected).
				Remedy("Bring the interface up (nmcli connection up %s, netplan apply, ifup %s, or networkctl reload), or pass the right --address.", static[0].Name, static[0].Name)
		}
		// Not on any link: judge the configuration alone, as under --root.
	}

	if len(static) > 0 {
		return preflight.Passf("%s is assigned statically in %s", addr, sources(static))
	}
	if len(errs) > 0 {
		return preflight.Errorf("no readable configuration assigns %s statically, and some could not be read: %s", addr, joinErrs(errs))
	}
	if len(dhcp) > 0 {
		var saw []string
		for _, ifc := range dhcp {
			saw = append(saw, fmt.Sprintf("%s: dhcp (%s)", nameOr(ifc), ifc.Source))
		}
		return preflight.Failf("the network configuration uses DHCP (%s) and none assigns %s statically", strings.Join(saw, ", "), addr).
			Saw(strings.Join(saw, ", "), expected).
			Remedy("%s", remedyStatic(h, addr, 0, nameOr(dhcp[0])))
	}
	return preflight.Warnf("no network configuration file mentions %s", addr).
		Saw(fmt.Sprintf("%d interface configuration(s), none with %s", len(ifaces), addr), expected).
		Remedy("%s", remedyStatic(h, addr, 0, ""))
}

func findAddr(links []host.Link, addr netip.Addr) (string, host.Addr, bool) {
	for _, l := range links {
		for _, a := range l.Addrs {
			if a.Prefix.Addr().Unmap() == addr {
				return l.Name, a, true
			}
		}
	}
	return "", host.Addr{}, false
}

// ifaceMatches reports whether a configuration applies to the link name
// (networkd [Match] Name= may be a glob).
func ifaceMatches(ifc netconf.Iface, link string) bool {
	if ifc.IsPattern() {
		ok, _ := path.Match(ifc.Name, link)
		return ok
	}
	return ifc.Name == link
}

func sources(l []netconf.Iface) string {
	var s []string
	for _, ifc := range l {
		s = append(s, ifc.Source)
	}
	return strings.Join(s, ", ")
}

func nameOr(ifc netconf.Iface) string {
	if ifc.Name == "" {
		return path.Base(ifc.Source)
	}
	return ifc.Name
}

func lft(d time.Duration) string {
	if d == 0 {
		return "forever"
	}
	return d.String()
}

// remedyStatic writes the exact edit for the network stack the host uses.
func remedyStaticFor(h *host.Host, addr netip.Addr, bits int, link, gw string) string {
	if bits == 0 {
		bits = 24
		if addr.Is6() {
			bits = 64
		}
	}
	if link == "" {
		link = "IFACE"
	}
	p := netip.PrefixFrom(addr, bits)
	switch {
	case h.Exists("/etc/netplan"):
		return fmt.Sprintf("In /etc/netplan/*.yaml set, under network.ethernets.%s: \"dhcp4: false\", \"addresses: [%s]\" and \"routes: [{to: default, via: %s}]\"; then run netplan apply.", link, p, gw)
	case h.Exists("/etc/NetworkManager"):
		return fmt.Sprintf("nmcli connection modify %s ipv4.method manual ipv4.addresses %s ipv4.gateway %s && nmcli connection up %s (or in /etc/sysconfig/network-scripts/ifcfg-%s set BOOTPROTO=none, IPADDR=%s, PREFIX=%d, GATEWAY=%s).", link, p, gw, link, link, addr, bits, gw)
	case h.Exists("/etc/network/interfaces"):
		return fmt.Sprintf("In /etc/network/interfaces replace \"iface %s inet dhcp\" with \"iface %s inet static\" followed by \"address %s\" and \"gateway %s\"; then ifdown %s && ifup %s.", link, link, p, gw, link, link)
	case h.Exists("/etc/systemd/network"):
		return fmt.Sprintf("In /etc/systemd/network/10-%s.network set [Match] Name=%s, [Network] DHCP=no, Address=%s, Gateway=%s; then networkctl reload.", link, link, p, gw)
	}
	return fmt.Sprintf("Configure %s statically on %s in the distribution's network configuration (ifcfg BOOTPROTO=none, NetworkManager method=manual, netplan addresses, ifupdown inet static or networkd Address=), without DHCP.", p, link)
}
