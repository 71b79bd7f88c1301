// Package cluster is the cluster-wide preflight: given what every member of
// a cluster reported (its local preflight report, OS, versions, clock and
// what it saw probing the other members' ports), it computes the cluster.*
// checks and renders a hosts × checks matrix as text, json, junit or html.
//
// Everything here is pure: the agent collects the Members (over Serf
// queries) and passes them in; this package never touches the network, the
// clock or the host.
package cluster
