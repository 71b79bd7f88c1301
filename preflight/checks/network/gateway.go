package network

import (
	"context"
	"time"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
)

// pingTimeout bounds the ping when the runner gives the check more time.
const pingTimeout = 2 * time.Second

func checkGateway(ctx context.Context, h *host.Host) preflight.Result {
	if !h.Live {
		return preflight.Skipf("needs the live network: not available under --root")
	}
	if h.Offline {
		return preflight.Skipf("--offline: no packet is sent off the host")
	}
	r, ok, err := h.Kernel.DefaultRoute()
	if err != nil {
		return preflight.Errorf("cannot read the routing table: %v", err)
	}
	if !ok {
		return preflight.Failf("no IPv4 default route").Saw("(no default route)", "a default gateway that answers ping").
			Remedy("Set the gateway in the interface configuration (GATEWAY= in ifcfg, ipv4.gateway in NetworkManager, routes: to: default in netplan, gateway in /etc/network/interfaces, Gateway= in networkd), or now: ip route add default via <gateway IP>.")
	}
	if !r.Gateway.IsValid() {
		return preflight.Warnf("the default route goes out %s with no gateway address to ping", r.Link).
			Saw("default dev "+r.Link, "default via <gateway IP>").
			Remedy("Route through a gateway address: ip route replace default via <gateway IP> dev %s, and set it in the interface configuration.", r.Link)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	rtt, err := h.Kernel.Ping(pctx, r.Gateway)
	if err != nil {
		return preflight.Failf("gateway %s (via %s) does not answer ping: %v", r.Gateway, r.Link, err).
			Saw("no reply from "+r.Gateway.String(), "an ICMP echo reply").
			Remedy("Check that %s is the right gateway (ip route show default) and that it and any firewall between allow ICMP echo: ping -c 3 %s.", r.Gateway, r.Gateway)
	}
	return preflight.Passf("gateway %s via %s answers ping in %s", r.Gateway, r.Link, rtt.Round(time.Microsecond))
}
