package hostfiles

import (
	"fmt"
	"strings"

	"github.com/vmnode/vmnode/provision"
	"github.com/vmnode/vmnode/provision/files"
	"github.com/vmnode/vmnode/provision/firewall"
)

// FirewallPersist makes the firewall rules survive a reboot: it writes the
// rendered ruleset to firewall.PersistPath and includes that file from the
// nftables service's configuration. It never restarts nftables.service:
// with Debian's `flush ruleset` that would drop libvirt's and docker's tables.
func FirewallPersist(ed *files.Editor, rendered string) provision.Step {
	return &fileStep{name: "firewall", ed: ed, desired: func(ed *files.Editor) ([]Edit, []string, error) {
		edits := []Edit{{Path: firewall.PersistPath, Content: []byte(rendered), Mode: 0o644, Summary: "rules loaded at boot"}}
		for _, conf := range firewall.NftablesConfPaths {
			cur, exists, err := ed.Read(conf)
			if err != nil {
				return nil, nil, err
			}
			if exists {
				return append(edits, Edit{Path: conf, Content: withInclude(cur, firewall.IncludeLine()), Mode: 0o755,
					Summary: "include " + firewall.PersistPath}), nil, nil
			}
		}
		return nil, nil, fmt.Errorf("nftables is not installed (no %s): install the nftables package", strings.Join(firewall.NftablesConfPaths, " or "))
	}}
}

// withInclude adds the include line once, after a `flush ruleset` line (which
// would otherwise wipe it) or at the end.
func withInclude(b []byte, include string) []byte {
	eol := lineEnding(b)
	ls := lines(b)
	at := len(ls)
	for i, l := range ls {
		t := strings.TrimSpace(l)
		if t == include {
			return b
		}
		if t == "flush ruleset" {
			at = i + 1
		}
	}
	ls = append(ls[:at], append([]string{include}, ls[at:]...)...)
	return join(ls, eol)
}
