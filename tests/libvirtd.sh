#!/usr/bin/env bash
# Starts libvirtd for the tests on a machine without systemd as PID 1
# (../shared/LAB.md), idempotently: virtlogd, then libvirtd in the
# foreground under tini, a child subreaper (destroys are 1-2 s slower
# without one). Does nothing when libvirtd already answers.
set -euo pipefail

answers() { timeout 5 virsh -q -c qemu:///system version >/dev/null 2>&1; }
answers && exit 0

# Without udev /dev/kvm is root-only and libvirt re-probes QEMU on every
# call (~30 s a define).
if [[ -e /dev/kvm ]]; then
  chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi
# The tests make their own networks; the "default" NAT network would put a
# bridge and dnsmasq on this machine.
rm -f /etc/libvirt/qemu/networks/autostart/default.xml
mkdir -p /run/libvirt /var/log/libvirt
# By PID file: lab hosts run their own daemons with other PID files.
running() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/virtlogd.pid || virtlogd -d
if ! running /run/libvirtd.pid; then
  setsid tini -s -- libvirtd >>/var/log/libvirt/vmnode-tests.log 2>&1 </dev/null &
fi
for _ in $(seq 1 100); do
  answers && { echo "libvirtd: running ($(virsh -q -c qemu:///system version --daemon | grep -m1 -o 'libvirt [0-9.]*' || true))"; exit 0; }
  sleep 0.1
done
echo "libvirtd: not answering after 10 s; see /var/log/libvirt/vmnode-tests.log" >&2
exit 1
