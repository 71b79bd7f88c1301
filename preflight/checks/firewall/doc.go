// Package firewall checks the node's firewall: nftables enabled for
// autostart, and the cluster's ports free or held by the services that own them.
package firewall
