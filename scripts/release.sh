#!/usr/bin/env bash
# Release build: statically linked binaries of the hub and every first-party
# plugin for linux/amd64 and linux/arm64, one tarball per platform and
# SHA256SUMS, in $OUT (default dist/).
#
#   scripts/release.sh [ARCH...]          (default: amd64 arm64)
#   VERSION=v1.2.3 scripts/release.sh     (default: git describe)
#
# The hub links SQLite through cgo: it is built with the C compiler of its
# platform (gcc, or Debian's cross compiler aarch64-linux-gnu-gcc) and linked
# statically (-extldflags -static), with Go's own DNS resolver and user
# lookup (netgo, osusergo) and without SQLite's extension loading (which
# needs dlopen), so that the binary needs no libc at run time and runs on any
# Linux, glibc or musl. The plugins are pure Go (CGO_ENABLED=0), all in one
# binary, bin/reviewhub-plugins, which bin/hub-plugin-NAME link to.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
OUT=${OUT:-dist}
PLUGINS=${PLUGINS:-appstore googleplay rustore appgallery omnidesk zendesk slack telegram libretranslate deepl}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || true)}
# SOURCE_DATE_EPOCH (reproducible builds) names the build date if set.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
else
	DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
fi
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(amd64 arm64)

pkg=github.com/reviewhub/reviewhub/hub/buildinfo
XFLAGS="-X $pkg.version=$VERSION -X $pkg.commit=$COMMIT -X $pkg.date=$DATE"
TAGS="netgo osusergo sqlite_omit_load_extension"

cc_for() {
	case "$1" in
	amd64) [ "$(uname -m)" = x86_64 ] && echo gcc || echo x86_64-linux-gnu-gcc ;;
	arm64) [ "$(uname -m)" = aarch64 ] && echo gcc || echo aarch64-linux-gnu-gcc ;;
	*) echo "unsupported architecture $1" >&2; return 1 ;;
	esac
}

# The sources this build reads, recorded beside each folder when it is
# built (scripts/source-stamp.sh): make image and make deb refuse a stale one.
source_stamp=$(scripts/source-stamp.sh)
mkdir -p "$OUT"
for arch in "${ARCHES[@]}"; do
	cc=$(cc_for "$arch")
	command -v "$cc" >/dev/null || { echo "release: $cc not found (Debian: apt-get install gcc-aarch64-linux-gnu)" >&2; exit 1; }
	name="reviewhub_${VERSION}_linux_${arch}"
	dir="$OUT/$name"
	rm -rf "$dir" "$dir.source" && mkdir -p "$dir/bin"
	echo "release: $name (CC=$cc)"
	CGO_ENABLED=1 GOOS=linux GOARCH=$arch CC=$cc $GO build -trimpath -tags "$TAGS" \
		-ldflags "-s -w $XFLAGS -linkmode external -extldflags '-static'" \
		-o "$dir/bin/hub" ./hub/cmd/hub
	# Every plugin in one binary, a link hub-plugin-NAME to it per plugin
	# (plugins/cmd/reviewhub-plugins): the Go runtime, gRPC and protobuf once.
	CGO_ENABLED=0 GOOS=linux GOARCH=$arch $GO build -trimpath -ldflags "-s -w" \
		-o "$dir/bin/reviewhub-plugins" ./plugins/cmd/reviewhub-plugins
	for p in $PLUGINS; do
		ln -s reviewhub-plugins "$dir/bin/hub-plugin-$p"
	done
	# Refuse a dynamically linked binary: it would not run on musl.
	for f in "$dir"/bin/*; do
		if readelf -l "$f" | grep -q 'Requesting program interpreter'; then
			echo "release: $f is dynamically linked" >&2
			exit 1
		fi
	done
	cp hub/config/example.yaml "$dir/hub.yaml" # plugins.dir ./bin: `bin/hub serve --config hub.yaml` runs from here
	cp README.md "$dir/"
	# Reproducible archive: sorted names, fixed owner and times.
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="${DATE}" \
		-C "$OUT" -czf "$OUT/$name.tar.gz" "$name"
	echo "$source_stamp" > "$dir.source"
done
(cd "$OUT" && sha256sum reviewhub_"${VERSION}"_linux_*.tar.gz > SHA256SUMS)
cat "$OUT/SHA256SUMS"
