// Package lab gives tests real components to run against: a cached Debian 12
// root with systemd, chrony and nftables (Rootfs), booted in a private-network
// systemd-nspawn container with systemd as PID 1 (Boot). See ../../../shared/LAB.md.
//
// NewNet makes several hosts on one machine: network namespaces on a private
// bridge, with processes started in them (Host.Start) and a network that
// tests can cut (Net.Cut), partition (Net.Partition) and heal, all removed when
// the test ends.
//
// Host.StartLibvirtd gives a host a libvirtd of its own: it runs in the
// host's namespace with private state, listens on TCP at the host's address
// and has a distinct host UUID, so that domains live-migrate between the
// hosts of a Net. The machine's own libvirtd is left alone.
package lab
