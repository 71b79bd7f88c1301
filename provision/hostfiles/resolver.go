package hostfiles

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vmnode/vmnode/preflight/checks/network"
	"github.com/vmnode/vmnode/preflight/host"
	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
)

// Drop-ins the resolver step writes.
const (
	NMDropIn       = "/etc/NetworkManager/conf.d/90-vmnode-dns.conf"
	ResolvedDropIn = "/etc/systemd/resolved.conf.d/90-vmnode.conf"
	ResolvConf     = "/etc/resolv.conf"
)

// errNoDNS is returned when a fix needs DNS servers and none are configured.
var errNoDNS = errors.New("set provision.dns in /etc/vmnode/vmnode.yaml (or VMNODE_PROVISION_DNS): vmnode never guesses DNS servers")

// Resolver fixes what network.resolv-conf flags: where NetworkManager
// manages DNS it adds a conf.d drop-in with dns=none; where resolv.conf
// points at the systemd-resolved stub without upstream servers it sets DNS=
// in a resolved.conf.d drop-in; where resolv.conf has no nameserver it
// writes one. Servers come only from dns (config), never guessed.
func Resolver(ed *files.Editor, dns []netip.Addr) provision.Step {
	return &fileStep{name: "resolver", ed: ed, desired: func(ed *files.Editor) ([]Edit, []string, error) {
		r, err := network.ReadResolver(view(ed))
		if err != nil {
			return nil, nil, err
		}
		var edits []Edit
		var notes []string
		servers := make([]string, len(dns))
		for i, a := range dns {
			servers[i] = a.String()
		}
		if r.NMManaged {
			edits = append(edits, Edit{Path: NMDropIn, Mode: 0o644, Summary: "stop NetworkManager from managing /etc/resolv.conf",
				Content: []byte("# Written by vmnode provision: NetworkManager must not rewrite /etc/resolv.conf.\n[main]\ndns=none\n")})
			notes = append(notes, "run `systemctl reload NetworkManager` for dns=none to take effect")
		}
		switch {
		case !r.Exists || len(r.Nameservers) == 0:
			if len(dns) == 0 {
				return nil, nil, fmt.Errorf("/etc/resolv.conf has no nameserver: %w", errNoDNS)
			}
			var b strings.Builder
			b.WriteString("# Written by vmnode provision.\n")
			for _, s := range servers {
				b.WriteString("nameserver " + s + "\n")
			}
			edits = append(edits, Edit{Path: ResolvConf, Mode: 0o644, Summary: "list the configured nameservers", Content: []byte(b.String())})
		case r.Stub && r.ResolvedDNS == "":
			if len(dns) == 0 {
				return nil, nil, fmt.Errorf("/etc/resolv.conf uses the systemd-resolved stub and resolved.conf sets no DNS=: %w", errNoDNS)
			}
			edits = append(edits, Edit{Path: ResolvedDropIn, Mode: 0o644, Summary: "give systemd-resolved upstream DNS servers",
				Content: []byte("# Written by vmnode provision.\n[Resolve]\nDNS=" + strings.Join(servers, " ") + "\n")})
			notes = append(notes, "run `systemctl restart systemd-resolved` for DNS= to take effect")
		}
		return edits, notes, nil
	}}
}

// view is the read-only host view of the editor's root, so steps decide
// from the same facts the preflight checks read.
func view(ed *files.Editor) *host.Host {
	return &host.Host{Root: ed.Root(), Files: host.RootFS(ed.Root())}
}
