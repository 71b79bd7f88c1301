// Package netconf reads a host's persistent OS network configuration (ifcfg, NetworkManager keyfiles,
// netplan, ifupdown, systemd-networkd) into a typed list of interfaces; pure parsers, no judging.
package netconf
