package netconf

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vmnode/vmnode/preflight/host"
)

// Discover finds the node address when none was given: live, the primary
// IPv4 address of the default-route interface; under --root, the first
// statically configured address. It returns where the address came from.
func Discover(h *host.Host) (netip.Addr, string, error) {
	if !h.Live {
		ifaces, _ := Read(h)
		if a, ok := FirstStatic(ifaces); ok {
			return a, "static config", nil
		}
		return netip.Addr{}, "", errors.New("no statically configured address found under the root")
	}
	route, ok, err := h.Kernel.DefaultRoute()
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("default route: %w", err)
	}
	if !ok {
		return netip.Addr{}, "", errors.New("no default route")
	}
	links, err := h.Kernel.Links()
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("links: %w", err)
	}
	for _, l := range links {
		if l.Name != route.Link {
			continue
		}
		for _, a := range l.Addrs {
			if ip := a.Prefix.Addr(); ip.Is4() && ip.IsGlobalUnicast() {
				return ip, "default route via " + l.Name, nil
			}
		}
		return netip.Addr{}, "", fmt.Errorf("default-route interface %s has no IPv4 address", l.Name)
	}
	return netip.Addr{}, "", fmt.Errorf("default-route interface %s not found", route.Link)
}
