package cluster

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/vmnode/vmnode/preflight"
)

const noMembers = "no members reported"

func checkAnswered(ms []member, _ Limits) preflight.Result {
	if len(ms) == 0 {
		return preflight.Errorf("no members reported, not even the collecting host").
			Saw("0 members", "every member answers").
			Remedy("the collecting agent always reports itself, so this is a bug in vmnode: run the cluster preflight again and report it if it persists")
	}
	var silent []string
	for _, m := range ms {
		if !m.Answered() {
			why := m.Error
			if why == "" {
				why = "no answer"
			}
			silent = append(silent, fmt.Sprintf("%s (%s): %s", m.label, orUnknown(m.Address), why))
		}
	}
	observed := fmt.Sprintf("%d of %d answered", len(ms)-len(silent), len(ms))
	if len(silent) > 0 {
		return preflight.Failf("%s did not answer: %s", plural(len(silent), "member", "members"), strings.Join(silent, "; ")).
			Saw(observed, "every member answers").
			Remedy("on each host that did not answer, check that vmnode runs (`systemctl status vmnode`, `journalctl -u vmnode`) and that it and this host reach each other on the gossip port (7946 tcp and udp), then run the cluster preflight again")
	}
	return preflight.Passf("all %s answered", plural(len(ms), "member", "members")).Saw(observed, "every member answers")
}

func checkUnique(ms []member, _ Limits) preflight.Result {
	const expected = "a unique hostname and address per member"
	if len(ms) == 0 {
		return preflight.Skipf(noMembers)
	}
	byName, byAddr := map[string][]member{}, map[string][]member{}
	var nameKeys, addrKeys []string
	for _, m := range ms {
		k := strings.ToLower(m.Name)
		if _, ok := byName[k]; !ok {
			nameKeys = append(nameKeys, k)
		}
		byName[k] = append(byName[k], m)
		if m.Address == "" {
			continue
		}
		a := normalAddr(m.Address)
		if _, ok := byAddr[a]; !ok {
			addrKeys = append(addrKeys, a)
		}
		byAddr[a] = append(byAddr[a], m)
	}
	var dups []string
	for _, k := range nameKeys {
		if g := byName[k]; len(g) > 1 {
			var who []string
			for _, m := range g {
				who = append(who, fmt.Sprintf("%q (%s)", m.Name, orUnknown(m.Address)))
			}
			dups = append(dups, "name "+list(who))
		}
	}
	for _, k := range addrKeys {
		if g := byAddr[k]; len(g) > 1 {
			dups = append(dups, fmt.Sprintf("address %s used by %s", k, list(names(g))))
		}
	}
	if len(dups) > 0 {
		return preflight.Failf("members share a hostname or address: %s", strings.Join(dups, "; ")).
			Saw(strings.Join(dups, "\n"), expected).
			Remedy("give every host its own hostname (`hostnamectl set-hostname NAME`, names compare case-insensitively) and its own address, then restart vmnode on the changed hosts so they rejoin under their new identity")
	}
	return preflight.Passf("%s, each with its own hostname and address", plural(len(ms), "member", "members")).
		Saw(fmt.Sprintf("%d names, %d addresses", len(nameKeys), len(addrKeys)), expected)
}

// normalAddr is the canonical form of an IP address ("::ffff:10.0.0.1" is
// "10.0.0.1"); anything else compares case-insensitively.
func normalAddr(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return strings.ToLower(s)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown address"
	}
	return s
}
