#!/bin/sh
# Builds the vmnode packages: DIR/vmnode_<version>_amd64.deb and
# DIR/vmnode-<version>-1.x86_64.rpm (make packages). Prints their paths.
#
#   packaging/build.sh [-o DIR] [-v VERSION]
#
# DIR defaults to dist/; VERSION to packaging/version.sh's. The binary is
# static and stripped (CGO_ENABLED=0, -trimpath, -s -w) with the version
# embedded (vmnode version); the man pages and completions come from its
# command tree (vmnode docs). Dates come from SOURCE_DATE_EPOCH, by default
# the last commit's, so two builds of one commit give the same packages.
# nfpm: $NFPM, else v2.45.2 installed once into ~/.cache/vmnode.
# VMNODE_DEFAULT_CONFIG ships another file as /etc/vmnode/vmnode.yaml than
# packaging/vmnode.yaml (tests: an upgrade whose default changed).
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/dist
version=
while getopts o:v: opt; do
	case $opt in
	o) out=$OPTARG ;;
	v) version=$OPTARG ;;
	*)
		echo "usage: $0 [-o DIR] [-v VERSION]" >&2
		exit 2
		;;
	esac
done
version=$("$repo/packaging/version.sh" "$version")
mkdir -p "$out"
out=$(cd "$out" && pwd)
GO=${GO:-go}
NFPM_VERSION=v2.45.2

if [ -z "${NFPM:-}" ]; then
	bin=${XDG_CACHE_HOME:-$HOME/.cache}/vmnode/nfpm-$NFPM_VERSION
	NFPM=$bin/nfpm
	if [ ! -x "$NFPM" ]; then
		echo "build.sh: installing nfpm $NFPM_VERSION into $bin" >&2
		(cd / && env -u GOFLAGS GOBIN="$bin" "$GO" install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION")
	fi
fi

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cd "$repo"
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$GO" build -trimpath \
	-ldflags "-s -w -X main.version=$version" -o "$build/vmnode" ./cmd/vmnode
"$build/vmnode" docs --man "$build/man" --completions "$build/completions"
gzip -9n "$build"/man/*.1
cp "${VMNODE_DEFAULT_CONFIG:-packaging/vmnode.yaml}" "$build/vmnode.yaml"

# The Debian changelog of a native package (lintian wants one): one entry.
maintainer=$(sed -n 's/^maintainer: *//p' nfpm.yaml)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
{
	printf 'vmnode (%s) unstable; urgency=medium\n\n' "$(printf %s "$version" | sed 's/-/~/')"
	printf '  * vmnode %s, built from commit %s.\n\n' "$version" "$commit"
	printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$build/changelog.gz"

mkdir -p "$build/pkg"
for packager in deb rpm; do
	VMNODE_VERSION=$version VMNODE_BUILD=$build \
		"$NFPM" package --config nfpm.yaml --packager "$packager" --target "$build/pkg/" >/dev/null
done
# nfpm names them by convention: name_version_arch.deb, name-version-release.arch.rpm.
for f in "$build"/pkg/*.deb "$build"/pkg/*.rpm; do
	if [ ! -f "$f" ]; then
		echo "build.sh: nfpm wrote no $f" >&2
		exit 1
	fi
	mv "$f" "$out/"
	echo "$out/${f##*/}"
done
