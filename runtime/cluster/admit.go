package cluster

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Limits are the cluster rules every member enforces.
type Limits struct {
	MaxHosts int // 0: no limit; members publish theirs and the smallest applies
}

// RefusedError is a join the admission rules turned down. A Transient
// refusal (no quorum) may pass later; the others will not by themselves.
type RefusedError struct {
	Reason    string
	Transient bool
}

func (e *RefusedError) Error() string { return "join refused: " + e.Reason }

func refuse(format string, a ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, a...)}
}

// Admit judges merging incoming members (the other side of a join, as Serf's
// merge delegate hands them over: Status Left or Unknown) into the local
// view. The same rules run on both sides of a join, so the joining host
// learns why and the cluster never takes it in. Members the local view
// already counts pass without a verdict: gossip about them is not a join.
// seed, when not nil, is the member this host contacted to join (this host
// is the joining side); it must have quorum itself.
func Admit(local, incoming []Member, lim Limits, quorum Quorum, seed *Member) error {
	counted := map[string]Member{}
	for _, m := range local {
		if m.Counts() {
			counted[m.Name] = m
		}
	}
	var added []Member
	for _, in := range incoming {
		if !in.Counts() {
			continue
		}
		old, known := counted[in.Name]
		if known {
			if old.AddrPort() != in.AddrPort() {
				return refuse("a host named %s is already a member, at %s (%s); give this host another name (node.name), or remove the old one with `vmnode force-leave %s` on a member", in.Name, old.AddrPort(), old.Status, in.Name)
			}
			continue
		}
		for _, o := range counted {
			if o.AddrPort() == in.AddrPort() {
				return refuse("address %s is already member %s's (%s); if the host was renamed, remove the old name with `vmnode force-leave %s` on a member", in.AddrPort(), o.Name, o.Status, o.Name)
			}
		}
		added = append(added, in)
	}
	if len(added) == 0 {
		return nil
	}
	// The side being joined must have quorum. The joining side judges the
	// member it contacted instead: its own count may be stale (a restarted
	// member remembers hosts it has not reached yet).
	switch {
	case seed != nil && !seed.Tags.Quorate:
		return &RefusedError{Reason: fmt.Sprintf("the member contacted, %s, has no quorum; a join waits until a majority is back", seed.Name), Transient: true}
	case seed == nil && !quorum.Has():
		return &RefusedError{Reason: fmt.Sprintf("no quorum: this member sees %d of %d hosts, %d needed; a join waits until a majority is back", quorum.Seen, quorum.Hosts, quorum.Needed), Transient: true}
	}
	all := append(membersOf(counted), added...)
	if msg := mixedFamilies(all); msg != "" {
		return refuse("%s; a cluster's hosts must share one OS family", msg)
	}
	max := lim.MaxHosts
	for _, m := range all {
		if m.Tags.MaxHosts > 0 && (max == 0 || m.Tags.MaxHosts < max) {
			max = m.Tags.MaxHosts
		}
	}
	if total := len(all); max > 0 && total > max {
		return refuse("the cluster would grow to %d hosts, over its limit of %d (cluster.max_hosts)", total, max)
	}
	return nil
}

func membersOf(m map[string]Member) []Member {
	out := make([]Member, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// mixedFamilies describes the OS families when there is more than one.
func mixedFamilies(ms []Member) string {
	byFamily := map[string][]string{}
	for _, m := range ms {
		if f := m.Tags.OSFamily; f != "" {
			byFamily[f] = append(byFamily[f], m.Name)
		}
	}
	if len(byFamily) < 2 {
		return ""
	}
	families := make([]string, 0, len(byFamily))
	for f, names := range byFamily {
		slices.Sort(names)
		families = append(families, fmt.Sprintf("%s (%s)", f, strings.Join(names, ", ")))
	}
	sort.Strings(families)
	return "mixed OS families: " + strings.Join(families, " and ")
}
