package cluster

import (
	"net/netip"

	"github.com/hashicorp/serf/serf"
)

// Status is a member's state as gossip sees it.
type Status string

// Member states. Failed members still count as hosts of the cluster (they
// are offline, not gone); left members do not.
const (
	Alive   Status = "alive"
	Leaving Status = "leaving"
	Left    Status = "left"
	Failed  Status = "failed"
	Unknown Status = "unknown"
)

// Member is one host of the cluster.
type Member struct {
	Name   string
	Addr   netip.Addr
	Port   uint16
	Status Status
	Tags   Tags
}

// AddrPort is the member's gossip address.
func (m Member) AddrPort() netip.AddrPort { return netip.AddrPortFrom(m.Addr, m.Port) }

// Counts reports whether the member is a host of the cluster: anything but
// one that left.
func (m Member) Counts() bool { return m.Status != Left }

func statusOf(s serf.MemberStatus) Status {
	switch s {
	case serf.StatusAlive:
		return Alive
	case serf.StatusLeaving:
		return Leaving
	case serf.StatusLeft:
		return Left
	case serf.StatusFailed:
		return Failed
	}
	return Unknown
}

func fromSerf(m serf.Member) Member {
	addr, _ := netip.AddrFromSlice(m.Addr)
	return Member{Name: m.Name, Addr: addr.Unmap(), Port: m.Port, Status: statusOf(m.Status), Tags: DecodeTags(m.Tags)}
}
