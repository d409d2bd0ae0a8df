#!/usr/bin/env bash
# Builds the Debian package of a release folder (scripts/release.sh) with
# nfpm (installed from the Go module proxy into .tools by the Makefile).
#
#   scripts/deb.sh RELEASE_DIR      e.g. dist/reviewhub_v1.2.3_linux_amd64
set -euo pipefail
cd "$(dirname "$0")/.."
NFPM=${NFPM:-.tools/nfpm}
REL=${1:?usage: scripts/deb.sh RELEASE_DIR}
[ -x "$REL/bin/hub" ] || { echo "deb: $REL/bin/hub not found (make release first)" >&2; exit 1; }
scripts/source-stamp.sh check "$REL" || exit 1
base=${REL##*/}                      # reviewhub_VERSION_linux_ARCH
ARCH=${base##*_}
VERSION=${base#reviewhub_}
VERSION=${VERSION%_linux_*}
# Debian wants a version starting with a digit: v1.2.3 -> 1.2.3,
# v1.2.3-4-gabc -> 1.2.3+4.gabc, a bare commit -> 0.0.0+git.COMMIT.
DEB_VERSION=$(printf '%s' "$VERSION" | sed -e 's/^v//' -e 's/-/+/' -e 's/-/./g')
case "$DEB_VERSION" in [0-9]*.*) ;; *) DEB_VERSION="0.0.0+git.$DEB_VERSION" ;; esac
export REL ARCH DEB_VERSION
OUT=$(dirname "$REL")
# nfpm expands variables in some fields only: write the folder in ourselves.
cfg=$(mktemp --suffix .yaml)
trap 'rm -f "$cfg"' EXIT
sed "s#\${REL}#$REL#g" deploy/deb/nfpm.yaml > "$cfg"
"$NFPM" package --config "$cfg" --packager deb --target "$OUT/reviewhub_${DEB_VERSION}_${ARCH}.deb" >&2
echo "$OUT/reviewhub_${DEB_VERSION}_${ARCH}.deb"
