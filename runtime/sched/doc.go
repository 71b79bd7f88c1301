// Package sched places a VM on a host at its first power-on. It is pure: a
// function of the hosts' published resources and the request, with no I/O,
// so every choice and every rejection can be explained and table-tested.
//
// It imports only the standard library.
package sched
