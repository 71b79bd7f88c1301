// Package agent is the vmnode daemon's lifecycle: New (no I/O) → Start
// (gossip, control socket, first join) → Run (signals, health drift,
// watchdog) → Leave → Shutdown. It wires runtime/cluster (Serf),
// runtime/api (the control socket) and the local preflight checks, and it
// answers the cluster's queries (preflight reports, port probes, clocks).
package agent
