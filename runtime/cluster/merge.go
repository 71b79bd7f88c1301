package cluster

import (
	"net/netip"
	"slices"

	"github.com/hashicorp/serf/serf"
)

// mergeDelegate runs Admit on every join and every alive message about a
// member this host does not count yet, on both sides of a join.
type mergeDelegate Cluster

func (d *mergeDelegate) NotifyMerge(members []*serf.Member) error {
	c := (*Cluster)(d)
	incoming := make([]Member, 0, len(members))
	for _, m := range members {
		addr, _ := netip.AddrFromSlice(m.Addr)
		st := Unknown
		if m.Status == serf.StatusLeft {
			st = Left
		}
		incoming = append(incoming, Member{Name: m.Name, Addr: addr.Unmap(), Port: m.Port, Status: st, Tags: DecodeTags(m.Tags)})
	}
	// Judge against Serf's current members, not the event loop's copy, which
	// lags a join by the time the event takes. Serf takes its member lock
	// after memberlist's node lock, as memberlist calls in here: no cycle.
	fresh := c.Members()
	c.mu.Lock()
	defer c.mu.Unlock()
	local, quorum := c.view, c.quorum
	if fresh != nil {
		local, quorum = fresh, QuorumOf(fresh, c.remembered.names)
	}
	var seed *Member
	if c.seed.IsValid() {
		seed = &Member{Name: c.seed.String(), Tags: Tags{Quorate: true}} // not in the state: judged by the others
		for i := range incoming {
			if incoming[i].AddrPort() == c.seed {
				seed = &incoming[i]
			}
		}
	}
	// Hosts this member remembers were admitted before: a restarted member
	// meeting them again, even without a majority in view yet, is a
	// reunion, not a join.
	var joining []Member
	for _, in := range incoming {
		if !slices.Contains(c.remembered.names, in.Name) || hasName(local, in.Name) {
			joining = append(joining, in)
		}
	}
	err := Admit(local, joining, c.cfg.Limits, quorum, seed)
	if err != nil {
		if c.seed.IsValid() {
			c.refusal = err
		}
		c.log.Warn("merge refused", "reason", err)
	}
	return err
}
