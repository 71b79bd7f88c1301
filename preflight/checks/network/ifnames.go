package network

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/preflight/netconf"
)

// validIfName reports whether an interface name uses Latin letters, digits
// and ._- only.
func validIfName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func checkInterfaceNames(_ context.Context, h *host.Host) preflight.Result {
	var names []string
	var errs []error
	if h.Live {
		links, err := h.Kernel.Links()
		if err != nil {
			return preflight.Errorf("cannot list network interfaces: %v", err)
		}
		for _, l := range links {
			names = append(names, l.Name)
		}
	} else {
		var ifaces []netconf.Iface
		ifaces, errs = netconf.Read(h)
		for _, ifc := range ifaces {
			if ifc.Name == "" || ifc.IsPattern() {
				continue
			}
			base, _, _ := strings.Cut(ifc.Name, ":") // eth0:1 is an alias of eth0
			names = append(names, base)
		}
		sys, err := h.Glob("/sys/class/net/*")
		if err != nil {
			errs = append(errs, fmt.Errorf("glob /sys/class/net: %w", err))
		}
		for _, p := range sys {
			names = append(names, path.Base(p))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var bad []string
	for _, n := range names {
		if !validIfName(n) {
			bad = append(bad, fmt.Sprintf("%q", n))
		}
	}
	if len(bad) > 0 {
		return preflight.Failf("interface names with characters other than Latin letters, digits and ._-: %s", strings.Join(bad, ", ")).
			Saw(strings.Join(bad, ", "), "names of [A-Za-z0-9._-]").
			Remedy("Rename each interface with a systemd .link file, e.g. /etc/systemd/network/10-lan0.link with [Match] MACAddress=<its MAC> and [Link] Name=lan0; update the network configuration that names it, then update-initramfs -u (Debian/Ubuntu) or dracut -f (RHEL) and reboot.")
	}
	if len(errs) > 0 {
		return preflight.Errorf("some network configuration could not be read: %s", joinErrs(errs))
	}
	if len(names) == 0 {
		return preflight.Skipf("no interface names found (no network configuration, no /sys/class/net in the tree)")
	}
	return preflight.Passf("%d interfaces: %s", len(names), strings.Join(names, ", "))
}
