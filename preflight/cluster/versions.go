package cluster

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/vmnode/vmnode/preflight"
)

// baseComponents are the versions compared across members, in report order;
// other keys members report follow in name order.
var baseComponents = []string{"vmnode", "libvirt", "qemu"}

// version is a parsed version string.
type version struct {
	Major, Minor int
}

// parseVersion reads the major and minor number of a package or program
// version: "9.0.0", "v0.4.1", "1:8.2.2+ds-0ubuntu1" (Debian epoch),
// "6.2.0-41.el9", "10" (minor 0). Anything else is not ok.
func parseVersion(s string) (version, bool) {
	s = strings.TrimSpace(s)
	if epoch, rest, ok := strings.Cut(s, ":"); ok && epoch != "" && strings.Trim(epoch, "0123456789") == "" {
		s = rest
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	major, rest := leadingNumber(s)
	if major < 0 {
		return version{}, false
	}
	if rest == "" || rest[0] != '.' {
		if rest != "" && isDigitOrDot(rest[0]) {
			return version{}, false
		}
		return version{Major: major}, true
	}
	minor, _ := leadingNumber(rest[1:])
	if minor < 0 {
		return version{}, false
	}
	return version{Major: major, Minor: minor}, true
}

// leadingNumber parses the decimal digits s starts with; -1 when there are
// none or too many.
func leadingNumber(s string) (int, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 9 {
		return -1, s
	}
	n, _ := strconv.Atoi(s[:i])
	return n, s[i:]
}

func isDigitOrDot(c byte) bool { return c == '.' || c >= '0' && c <= '9' }

// versionGroup is the members running one major.minor of a component (or
// one unparsable version string).
type versionGroup struct {
	key     string // "9.0", or the raw string when it does not parse
	v       version
	parsed  bool
	exact   []string // the distinct version strings, in member order
	members []string
}

// label is the exact version when the group shares one, else "9.0.x".
func (g versionGroup) label() string {
	if len(g.exact) == 1 {
		return g.exact[0]
	}
	return g.key + ".x"
}

// componentVersions groups the members that know component by major.minor,
// oldest first (unparsable versions last); unknown lists the others.
func componentVersions(ms []member, component string) (groups []versionGroup, unknown []string) {
	byKey := map[string]*versionGroup{}
	var order []string
	for _, m := range ms {
		raw := strings.TrimSpace(m.Versions[component])
		if raw == "" {
			unknown = append(unknown, m.label)
			continue
		}
		v, ok := parseVersion(raw)
		key := raw
		if ok {
			key = fmt.Sprintf("%d.%d", v.Major, v.Minor)
		}
		g, seen := byKey[key]
		if !seen {
			g = &versionGroup{key: key, v: v, parsed: ok}
			byKey[key] = g
			order = append(order, key)
		}
		if !slices.Contains(g.exact, raw) {
			g.exact = append(g.exact, raw)
		}
		g.members = append(g.members, m.label)
	}
	for _, k := range order {
		groups = append(groups, *byKey[k])
	}
	slices.SortStableFunc(groups, func(a, b versionGroup) int {
		switch {
		case a.parsed != b.parsed:
			if a.parsed {
				return -1
			}
			return 1
		case !a.parsed:
			return strings.Compare(a.key, b.key)
		}
		return cmp.Or(cmp.Compare(a.v.Major, b.v.Major), cmp.Compare(a.v.Minor, b.v.Minor))
	})
	return groups, unknown
}

// components is baseComponents, then any other component a member reported.
func components(ms []Member) []string {
	out := slices.Clone(baseComponents)
	var extra []string
	for _, m := range ms {
		for k := range maps.Keys(m.Versions) {
			if !slices.Contains(out, k) && !slices.Contains(extra, k) {
				extra = append(extra, k)
			}
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}

func checkVersions(ms []member, _ Limits) preflight.Result {
	comps := components(plain(ms))
	expected := "the same major.minor of " + list(comps) + " on every member"
	ms = answered(ms)
	if len(ms) < 2 {
		return preflight.Skipf("fewer than two members answered: no versions to compare")
	}
	var observed, skewed, same, skipped, remedies []string
	for _, c := range comps {
		groups, unknown := componentVersions(ms, c)
		var parts []string
		for _, g := range groups {
			parts = append(parts, g.label()+" on "+strings.Join(g.members, ", "))
		}
		if len(unknown) > 0 {
			parts = append(parts, "unknown on "+strings.Join(unknown, ", "))
		}
		observed = append(observed, c+": "+strings.Join(parts, "; "))
		switch {
		case len(groups) > 1:
			skewed = append(skewed, c+" "+strings.Join(parts, " vs "))
			remedies = append(remedies, upgradeRemedy(c, groups))
		case len(groups) == 1 && len(groups[0].members) > 1:
			s := c + " " + groups[0].label()
			if len(unknown) > 0 {
				s += " (unknown on " + list(unknown) + ")"
			}
			same = append(same, s)
		default:
			skipped = append(skipped, c)
		}
	}
	obs := strings.Join(observed, "\n")
	switch {
	case len(skewed) > 0:
		return preflight.Warnf("versions differ across members: %s; until they match, VMs live-migrate only from older to newer hosts", strings.Join(skewed, "; ")).
			Saw(obs, expected).
			Remedy("upgrade the older members so that every member runs the same major.minor: %s", strings.Join(remedies, "; "))
	case len(same) == 0:
		return preflight.Skipf("no version is known on two or more members (%s)", strings.Join(skipped, ", ")).Saw(obs, expected)
	}
	msg := "every member runs " + list(same)
	if len(skipped) > 0 {
		msg += "; not compared (known on fewer than two members): " + strings.Join(skipped, ", ")
	}
	return preflight.Passf("%s", msg).Saw(obs, expected)
}

// upgradeRemedy says which members to upgrade to the newest version of c.
func upgradeRemedy(c string, groups []versionGroup) string {
	newest := groups[len(groups)-1]
	if !newest.parsed {
		return fmt.Sprintf("%s: install the same version everywhere (cannot order %q)", c, newest.key)
	}
	var older []string
	for _, g := range groups[:len(groups)-1] {
		older = append(older, g.members...)
	}
	return fmt.Sprintf("%s on %s to %s (as on %s)", c, list(older), newest.key, list(newest.members))
}
