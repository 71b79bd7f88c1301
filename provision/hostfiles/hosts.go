package hostfiles

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
)

// HostsFile is the file the hosts step edits.
const HostsFile = "/etc/hosts"

// Hosts makes /etc/hosts map the node address to its hostname (seed 004:
// "<server IP address> <server hostname>"), keeping every other line.
func Hosts(ed *files.Editor, addr netip.Addr, hostname string) provision.Step {
	return &fileStep{name: "hosts", ed: ed, desired: func(ed *files.Editor) ([]Edit, []string, error) {
		if !addr.IsValid() {
			return nil, nil, fmt.Errorf("no node address: pass --address or set node.address")
		}
		if hostname == "" || hostname == "localhost" {
			return nil, nil, fmt.Errorf("hostname %q cannot be mapped: set a real hostname first (hostnamectl set-hostname NAME)", hostname)
		}
		cur, _, err := ed.Read(HostsFile)
		if err != nil {
			return nil, nil, err
		}
		return []Edit{{Path: HostsFile, Content: ensureHostsEntry(cur, addr, hostname), Mode: 0o644,
			Summary: fmt.Sprintf("map %s to %s", addr, hostname)}}, nil, nil
	}}
}

// ensureHostsEntry makes the first line for addr read "addr fqdn [short]
// [other aliases]" (keeping its comment), or appends such a line. Other
// lines, comments, whitespace and CRLF endings are kept as they are.
func ensureHostsEntry(b []byte, addr netip.Addr, hostname string) []byte {
	eol := lineEnding(b)
	ls := lines(b)
	names := []string{hostname}
	if short, _, ok := strings.Cut(hostname, "."); ok && short != "" {
		names = append(names, short)
	}
	for i, l := range ls {
		body, comment, _ := strings.Cut(l, "#")
		f := strings.Fields(body)
		if len(f) == 0 {
			continue
		}
		if a, err := netip.ParseAddr(f[0]); err != nil || a != addr {
			continue
		}
		if len(f) > len(names) && slices.Equal(f[1:1+len(names)], names) {
			return b // already right
		}
		out := append([]string{addr.String()}, names...)
		for _, alias := range f[1:] {
			if !slices.Contains(names, alias) {
				out = append(out, alias)
			}
		}
		ls[i] = strings.Join(out, " ")
		if comment != "" {
			ls[i] += " #" + comment
		}
		return join(ls, eol)
	}
	ls = append(ls, addr.String()+" "+strings.Join(names, " "))
	return join(ls, eol)
}
