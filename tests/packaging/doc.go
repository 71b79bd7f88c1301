// Package packaging tests the vmnode .deb and .rpm (nfpm.yaml, packaging/)
// against the real thing: the default configuration loads, the unit file
// says what the issue asks, lintian and rpm accept the packages, and the .deb
// installs, upgrades, is removed and purged under systemd in a
// systemd-nspawn container of Debian 12 (tests/lab), with its dependencies
// (libvirt, QEMU) downloaded once on this machine and cached in
// /var/cache/vmnode-lab. The .rpm is checked with rpm -qp, installed with
// rpm --root into a copy of a root, and under systemd in a container.
package packaging
