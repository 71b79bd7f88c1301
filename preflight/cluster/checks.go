package cluster

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/vmnode/vmnode/preflight"
)

// The IDs of the cluster checks. They are stable: they appear in reports,
// ignore lists and docs.
const (
	IDMembersAnswered = "cluster.members-answered"
	IDHostnameUnique  = "cluster.hostname-unique"
	IDSize            = "cluster.size"
	IDOSFamily        = "cluster.os-family-homogeneous"
	IDVersions        = "cluster.versions"
	IDTimeSkew        = "cluster.time-skew"
	IDPortsReachable  = "cluster.ports-reachable"
)

// clusterCheck is one cluster check: a pure function of the members (sorted
// by name) and the limits.
type clusterCheck struct {
	id, title string
	fn        func(ms []member, lim Limits) preflight.Result
}

// checks in report order.
var checks = []clusterCheck{
	{IDMembersAnswered, "Every member answered", checkAnswered},
	{IDHostnameUnique, "Unique member names and addresses", checkUnique},
	{IDSize, "Cluster size", checkSize},
	{IDOSFamily, "One OS family", checkOSFamily},
	{IDVersions, "Same vmnode, libvirt and QEMU versions", checkVersions},
	{IDTimeSkew, "Clock skew between members", checkTimeSkew},
	{IDPortsReachable, "Required ports reachable between members", checkPorts},
}

// IDs lists the cluster check IDs in report order.
func IDs() []string {
	ids := make([]string, len(checks))
	for i, c := range checks {
		ids[i] = c.id
	}
	return ids
}

// Check runs the cluster checks over what the members reported and returns
// their results in IDs order. The result does not depend on the order of
// members.
func Check(members []Member, lim Limits) []preflight.Result {
	sorted := sortedMembers(members)
	ms := make([]member, len(sorted))
	for i, s := range shortNames(sorted) {
		ms[i] = member{Member: sorted[i], label: s}
	}
	out := make([]preflight.Result, len(checks))
	for i, c := range checks {
		r := c.fn(ms, lim)
		r.ID, r.Title = c.id, c.title
		out[i] = r
	}
	return out
}

// sortedMembers is a copy of members sorted by name (case-insensitively,
// then exactly, then by address).
func sortedMembers(members []Member) []Member {
	ms := slices.Clone(members)
	slices.SortStableFunc(ms, func(a, b Member) int {
		return cmp.Or(
			cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Address, b.Address))
	})
	return ms
}

// member is a Member as the checks see it: with the name messages call it
// by, its short name unless that is ambiguous (see shortNames).
type member struct {
	Member
	label string
}

// plain is the Members of ms.
func plain(ms []member) []Member {
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = m.Member
	}
	return out
}

// answered is the members that answered.
func answered(ms []member) []member {
	var out []member
	for _, m := range ms {
		if m.Answered() {
			out = append(out, m)
		}
	}
	return out
}

// names lists the members' names.
func names(ms []member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.label
	}
	return out
}

// list joins names for a sentence: "a", "a and b", "a, b and c".
func list(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
