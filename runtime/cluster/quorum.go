package cluster

import (
	"fmt"
	"slices"
)

// Quorum is a majority count over the cluster's hosts: every member that has
// not left, failed ones included, plus hosts remembered from before a restart
// that gossip has not seen again yet.
type Quorum struct {
	Seen   int // hosts alive, this one included
	Needed int // a strict majority of Hosts
	Hosts  int
}

// Has reports whether a majority is seen.
func (q Quorum) Has() bool { return q.Seen >= q.Needed }

func (q Quorum) String() string {
	verdict := "quorum"
	if !q.Has() {
		verdict = "no quorum"
	}
	return fmt.Sprintf("%s (%d/%d hosts, %d needed)", verdict, q.Seen, q.Hosts, q.Needed)
}

// QuorumOf counts members and the remembered host names.
func QuorumOf(members []Member, remembered []string) Quorum {
	var hosts []string
	var q Quorum
	for _, m := range members {
		if !m.Counts() {
			continue
		}
		hosts = append(hosts, m.Name)
		if m.Status == Alive {
			q.Seen++
		}
	}
	for _, name := range remembered {
		if !slices.ContainsFunc(members, func(m Member) bool { return m.Name == name }) && !slices.Contains(hosts, name) {
			hosts = append(hosts, name)
		}
	}
	q.Hosts = len(hosts)
	q.Needed = q.Hosts/2 + 1
	return q
}
