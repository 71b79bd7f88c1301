package cluster

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vmnode/vmnode/preflight"
)

func checkOSFamily(ms []member, _ Limits) preflight.Result {
	const expected = "one OS family (all Red Hat or all Debian) on every member"
	ms = answered(ms)
	if len(ms) == 0 {
		return preflight.Skipf("no member answered")
	}
	byFamily := map[string][]member{}
	var families, unknown []string
	for _, m := range ms {
		f := strings.ToLower(strings.TrimSpace(m.OS.Family))
		if f == "" {
			unknown = append(unknown, m.label)
			continue
		}
		if _, ok := byFamily[f]; !ok {
			families = append(families, f)
		}
		byFamily[f] = append(byFamily[f], m)
	}
	// Largest family first, then by name.
	slices.SortStableFunc(families, func(a, b string) int {
		if d := len(byFamily[b]) - len(byFamily[a]); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, f := range families {
		var who []string
		for _, m := range byFamily[f] {
			who = append(who, fmt.Sprintf("%s (%s)", m.label, m.OS))
		}
		parts = append(parts, f+": "+strings.Join(who, ", "))
	}
	if len(unknown) > 0 {
		parts = append(parts, "unknown: "+strings.Join(unknown, ", "))
	}
	observed := strings.Join(parts, "\n")

	switch {
	case len(families) > 1:
		var remedy string
		if top := byFamily[families[0]]; len(top) > len(byFamily[families[1]]) {
			var others []string
			for _, f := range families[1:] {
				others = append(others, names(byFamily[f])...)
			}
			them := "them"
			if len(others) == 1 {
				them = "it"
			}
			remedy = fmt.Sprintf("reinstall %s with a %s-family OS like the other members, or move %s into a separate cluster", list(others), families[0], them)
		} else {
			remedy = "pick one OS family for the cluster and reinstall the members of the other, or split the cluster by family"
		}
		return preflight.Failf("members mix OS families, which VMmanager does not support in one cluster: %s", strings.Join(parts, "; ")).
			Saw(observed, expected).Remedy("%s", remedy)
	case len(unknown) > 0:
		family := "debian or rhel"
		if len(families) == 1 {
			family = families[0] + ", like the others"
		}
		return preflight.Warnf("OS family unknown on %s, so it cannot be compared", list(unknown)).
			Saw(observed, expected).
			Remedy("check /etc/os-release on %s: ID_LIKE (or ID) must name the family (%s)", list(unknown), family)
	}
	var distros []string
	for _, m := range ms {
		if d := m.OS.String(); !slices.Contains(distros, d) {
			distros = append(distros, d)
		}
	}
	return preflight.Passf("every member runs a %s-family OS (%s)", families[0], strings.Join(distros, ", ")).Saw(observed, expected)
}
