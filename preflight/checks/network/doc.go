// Package network holds the network.* preflight checks (hostname, static address, /etc/hosts,
// resolver, gateway, interface names); it reads the host only through *host.Host and netconf.
package network
