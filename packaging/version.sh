#!/bin/sh
# Prints the version of the packages and of the binary they ship: semver, as
# nfpm wants it. From $1 when given (make packages VERSION=1.2.3), else the
# latest vX.Y.Z git tag (a build after the tag: v1.2.3-4-gabc1234 gives
# 1.2.3+4.gabc1234, so it sorts after 1.2.3), else the VERSION file, else
# 0.0.0+g<commit>. A dirty tree adds ".dirty" to the build metadata.
set -eu
cd "$(dirname "$0")/.."

raw=${1:-}
if [ -z "$raw" ]; then
	raw=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null) || raw=
fi
if [ -z "$raw" ] && [ -f VERSION ]; then
	raw=$(tr -d ' \n' <VERSION)
fi
if [ -z "$raw" ]; then
	raw=0.0.0+g$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
	if ! git diff --quiet HEAD -- 2>/dev/null; then
		raw=$raw-dirty
	fi
fi

v=$(printf '%s\n' "$raw" | sed -E \
	-e 's/^v//' \
	-e 's/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/' \
	-e 's/-dirty$/.dirty/' \
	-e 's/^([^+]*)\.dirty$/\1+dirty/')
if ! printf '%s\n' "$v" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?(\+[0-9A-Za-z.]+)?$'; then
	echo "version.sh: $raw is not a version (want X.Y.Z, vX.Y.Z or a git describe of such a tag)" >&2
	exit 1
fi
printf '%s\n' "$v"
