// Package lab gives tests real components to run against: a cached Debian 12
// root with systemd, chrony and nftables (Rootfs), booted in a private-network
// systemd-nspawn container with systemd as PID 1 (Boot). See ../../../shared/LAB.md.
package lab
