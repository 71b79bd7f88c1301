// Package cluster is vmnode's membership layer over HashiCorp Serf: the
// member view and its tags, majority quorum, the admission rules every member
// enforces on a join, the gossip keyring, and the Serf agent itself.
//
// The rules (Tags, Quorum, Admit) are pure and tested with tables; Cluster is
// the edge that runs Serf. It may import runtime/config; nothing in runtime
// may import it except runtime/agent.
package cluster
