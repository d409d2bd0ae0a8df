#!/usr/bin/env bash
# make package-test: builds every release artifact and tests it as an
# operator would use it. Needs root, podman, buildah, runc, podman-compose
# with the CNI dnsname plugin, postgresql-15's binaries, gcc-aarch64-linux-gnu,
# qemu-user-static (optional: runs the arm64 build),
# PostgreSQL at REVIEWHUB_TEST_POSTGRES (default the local server, database
# test) and helm, kubeconform, nfpm in $TOOLS (the Makefile installs them).
#
#  1. make release: linux/amd64 and linux/arm64 tarballs, SHA256SUMS; the
#     binaries statically linked; the arm64 hub run under qemu-user.
#  2. the image FROM scratch (≤ 60 MB unpacked): hub and plugins run in it (nothing
#     else is there); against PostgreSQL, configured by HUB_* alone: /healthz,
#     /readyz, an integration with the fakes through the container; then
#     deploy/compose.yaml under podman-compose with a PostgreSQL stand-in
#     (scripts/test-postgres-image.sh): compose up to /readyz timed, state
#     kept across down and up (hub/internal/packagetest/compose_test.go).
#  3. the Helm chart: helm lint, rendering, kubeconform; the compose file.
#  4. the Debian package: built, installed here, run, removed (scripts/deb-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}
export VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
TOOLS=${TOOLS:-$PWD/.tools}
DIST=${DIST:-dist}
MAX_IMAGE_BYTES=$((60 * 1000 * 1000))
t0=$(date +%s)
step() { echo; echo "=== package-test: $* ($(($(date +%s) - t0)) s)"; }

step "release $VERSION"
OUT=$DIST ./scripts/release.sh amd64 arm64
(cd "$DIST" && sha256sum -c SHA256SUMS)
for arch in amd64 arm64; do
	tar -tvzf "$DIST/reviewhub_${VERSION}_linux_${arch}.tar.gz" | grep "/bin/hub-plugin-zendesk -> reviewhub-plugins$" >/dev/null || { echo "tarball $arch lacks the plugins" >&2; exit 1; }
done
rel=$DIST/reviewhub_${VERSION}_linux_amd64
"$rel/bin/hub" version | tee /dev/stderr | grep "^version: *$VERSION$" >/dev/null
if command -v qemu-aarch64-static >/dev/null; then
	qemu-aarch64-static "$DIST/reviewhub_${VERSION}_linux_arm64/bin/hub" version | grep "platform: *linux/arm64" >/dev/null
	echo "arm64 hub runs (qemu-user)"
fi

step "image"
image=reviewhub:$VERSION
./scripts/image.sh "$rel" "$image"
# Unpacked (podman images), the target; and the size a registry stores and
# a pull downloads: the gzip-compressed layers (podman's own compression).
size=$(podman image inspect --format '{{.Size}}' "$image")
tmp=$(mktemp -d)
podman save --format docker-dir --compress -o "$tmp/img" "$image" >/dev/null
compressed=$(du -sb "$tmp/img" | cut -f1)
rm -rf "$tmp"
echo "image size: $compressed bytes compressed (pulled), $size bytes unpacked"
[ "$size" -le $MAX_IMAGE_BYTES ] || { echo "image is $size bytes unpacked, over 60 MB" >&2; exit 1; }
REVIEWHUB_IMAGE=$image REVIEWHUB_PACKAGE_TEST=1 go test -count=1 -v -timeout 10m ./hub/internal/packagetest/ 2>&1 |
	grep -Ev '^=== (RUN|PAUSE|CONT)'

step "Helm chart and compose file"
REVIEWHUB_TOOLS=$TOOLS REVIEWHUB_PACKAGE_TEST=1 go test -count=1 -v -timeout 10m ./deploy/ 2>&1 | grep -E '^(---|ok|FAIL|PASS)|Summary|\.go:'

step "Debian package"
deb=$(NFPM=$TOOLS/nfpm ./scripts/deb.sh "$rel")
dpkg-deb --info "$deb" | sed -n '1,20p'
./scripts/deb-test.sh "$deb"

podman rmi "$image" >/dev/null # make image builds the one to keep
step "all passed"
