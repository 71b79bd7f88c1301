#!/usr/bin/env bash
# Installs what vmnode's tests and benchmarks need on Debian 12, idempotently.
# Services are never started by the install (policy-rc.d), so nothing here
# talks to the network but the package registries; tests start their own
# daemons on loopback or in namespaces they create.
set -euo pipefail

PACKAGES=(
  chrony          # real NTP server on loopback for time.ntp-offset
  faketime        # a skewed chronyd
  iproute2        # network namespaces (lab hosts)
  nftables        # firewall tests in private namespaces
  libvirt-clients # virt-host-validate, the peer preflight is benchmarked against
  time            # /usr/bin/time for peak memory in benchmarks
  systemd-container # systemd-nspawn: real systemd as PID 1 for the services step (tests/lab)
  debootstrap     # the Debian 12 root those containers boot
  zstd            # the cached root tarball (/var/cache/vmnode-lab)
  rpm             # rpm -qp/-K/--root: checks of the .rpm (tests/packaging)
  lintian         # checks of the .deb (tests/packaging)
  libvirt-daemon-system # libvirtd: the hypervisor seam (runtime/virt, tests/e2e)
  qemu-system-x86 # QEMU that runs the test VMs (TCG)
  qemu-utils      # qemu-img: image checks and copy-on-write overlays
  tini            # a child subreaper for libvirtd (LAB.md: faster destroys)
)
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.6.1

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  policy=/usr/sbin/policy-rc.d
  added_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
  fi
  trap '[[ -n $added_policy ]] && rm -f "$policy"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
fi

gobin=$(go env GOPATH)/bin
if [[ ! -x $gobin/staticcheck ]]; then
  echo "install-deps: installing staticcheck"
  go install "$STATICCHECK"
fi
