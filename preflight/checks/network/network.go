package network

import (
	"context"
	"strings"

	"github.com/vmnode/vmnode/preflight"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/profiles"
)

// The check IDs. They are a contract: ignore lists and automation use them.
const (
	IDHostname       = "network.hostname"
	IDStaticIP       = "network.static-ip"
	IDHostsEntry     = "network.hosts-entry"
	IDResolvConf     = "network.resolv-conf"
	IDGateway        = "network.gateway"
	IDInterfaceNames = "network.interface-names"
)

// Checks returns the network checks for p. It does no I/O. A requirement the
// profile turns off (p.Network.StaticAddress, HostsEntry, Gateway) makes its
// check pass with a message saying it is not required.
func Checks(p *profiles.Profile) []preflight.Check {
	req := p.Network
	name := p.Name
	notRequired := func(field string) preflight.Result {
		return preflight.Passf("not required by profile %q (network.%s: false)", name, field)
	}
	return []preflight.Check{
		preflight.Func{CheckID: IDHostname, CheckTitle: "Hostname is a valid DNS name", Fn: checkHostname},
		preflight.Func{CheckID: IDStaticIP, CheckTitle: "Node address is configured statically", Fn: func(ctx context.Context, h *host.Host) preflight.Result {
			if !req.StaticAddress {
				return notRequired("static_address")
			}
			return checkStaticIP(ctx, h)
		}},
		preflight.Func{CheckID: IDHostsEntry, CheckTitle: "/etc/hosts maps the node address to the hostname", Fn: func(ctx context.Context, h *host.Host) preflight.Result {
			if !req.HostsEntry {
				return notRequired("hosts_entry")
			}
			return checkHostsEntry(ctx, h)
		}},
		preflight.Func{CheckID: IDResolvConf, CheckTitle: "Resolver has a DNS server", Fn: checkResolvConf},
		preflight.Func{CheckID: IDGateway, CheckTitle: "Default gateway answers ping", Fn: func(ctx context.Context, h *host.Host) preflight.Result {
			if !req.Gateway {
				return notRequired("gateway")
			}
			return checkGateway(ctx, h)
		}},
		preflight.Func{CheckID: IDInterfaceNames, CheckTitle: "Interface names use Latin letters, digits and ._- only", Fn: checkInterfaceNames},
	}
}

// errNoAddress is the result of a check that needs the node address when
// none could be found.
func errNoAddress() preflight.Result {
	return preflight.Errorf("no node address; pass --address").
		Remedy("Run again with --address IP (or set node.address in /etc/vmnode/vmnode.yaml).")
}

// joinErrs renders per-file errors for a message.
func joinErrs(errs []error) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}
