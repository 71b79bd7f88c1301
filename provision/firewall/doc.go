// Package firewall owns the nftables table "inet vmnode": a pure Ruleset model built from a profile's ports, its nft text (Render),
// and, on Linux, reading it back and replacing it in one atomic netlink batch (google/nftables) as the provision step "firewall".
// It imports only profiles and provision; it never reads or writes another table, and it writes no files (provision/files persists Render).
package firewall
