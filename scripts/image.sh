#!/usr/bin/env bash
# Builds the OCI image offline, FROM scratch: the release binaries (static,
# scripts/release.sh), CA certificates and time zones copied from this
# machine, a non-root user, /data as a volume. Needs buildah (Debian
# package), run as root; nothing is pulled.
#
#   scripts/image.sh RELEASE_DIR [IMAGE]   e.g. dist/reviewhub_v1.2.3_linux_amd64 reviewhub:v1.2.3
#
# The configuration is HUB_* variables alone (README: Install); the image
# sets the ones that describe its own layout.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}

rel=${1:?usage: scripts/image.sh RELEASE_DIR [IMAGE]}
[ -x "$rel/bin/hub" ] || { echo "image: $rel/bin/hub not found (make release first)" >&2; exit 1; }
scripts/source-stamp.sh check "$rel" || exit 1
version=$("$rel/bin/hub" version --json 2>/dev/null | sed -n 's/.*"version": "\(.*\)".*/\1/p' || true)
arch=${rel##*_}
if [ -z "$version" ]; then # a foreign architecture's binary: read the name
	version=${rel##*/reviewhub_}
	version=${version%_linux_*}
fi
image=${2:-reviewhub:$version}
commit=$(git rev-parse HEAD 2>/dev/null || true)
uid=10001

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
install -d -m 0755 "$root"/usr/bin "$root"/usr/lib/reviewhub/plugins "$root"/etc/ssl/certs "$root"/usr/share
install -m 0755 "$rel/bin/hub" "$root/usr/bin/hub"
# The plugins: one binary, a link hub-plugin-NAME to it per plugin (as in the release).
install -m 0755 "$rel/bin/reviewhub-plugins" "$root/usr/lib/reviewhub/reviewhub-plugins"
for p in "$rel"/bin/hub-plugin-*; do ln -s ../reviewhub-plugins "$root/usr/lib/reviewhub/plugins/${p##*/}"; done
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
# Time zones without the "right/" (leap second) copies.
tar -C /usr/share --exclude=zoneinfo/right --exclude=zoneinfo/posix -cf - zoneinfo | tar -C "$root/usr/share" -xf -
printf 'root:x:0:0:root:/root:/sbin/nologin\nreviewhub:x:%d:%d:Reviewhub:/data:/sbin/nologin\n' $uid $uid > "$root/etc/passwd"
printf 'root:x:0:\nreviewhub:x:%d:\n' $uid > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
chmod 0644 "$root"/etc/passwd "$root"/etc/group "$root"/etc/nsswitch.conf
# The plugins' sockets (go-plugin) are made in TMPDIR.
install -d -m 1777 "$root/tmp"
install -d -m 0700 -o $uid -g $uid "$root/data"

created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ts=()
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
	ts=(--timestamp "$SOURCE_DATE_EPOCH")
fi

ctr=$(buildah from --arch "$arch" scratch)
cleanup() { buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$root"; }
trap cleanup EXIT
mnt=$(buildah mount "$ctr")
cp -a "$root"/. "$mnt"/
buildah umount "$ctr" >/dev/null
buildah config \
	--arch "$arch" --os linux \
	--user $uid:$uid --workingdir /data --volume /data --port 8080 \
	--entrypoint '["/usr/bin/hub"]' --cmd serve \
	--env HUB_LISTEN=0.0.0.0:8080 --env HUB_DATA_DIR=/data \
	--env HUB_PLUGINS_DIR=/usr/lib/reviewhub/plugins --env HUB_LOG_FORMAT=json \
	--env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt --env ZONEINFO=/usr/share/zoneinfo --env TMPDIR=/tmp \
	--label org.opencontainers.image.title=reviewhub \
	--label "org.opencontainers.image.description=Reviewhub: app-store reviews into helpdesk tickets, answers back to the stores" \
	--label "org.opencontainers.image.version=$version" \
	--label "org.opencontainers.image.revision=$commit" \
	--label "org.opencontainers.image.created=$created" \
	--label org.opencontainers.image.source=https://github.com/reviewhub/reviewhub \
	"$ctr"
buildah commit --quiet --format oci --rm "${ts[@]}" "$ctr" "$image" >/dev/null
ctr=""
echo "image: $image ($arch), $(podman image inspect --format '{{.Size}}' "$image" 2>/dev/null || buildah inspect --type image --format '{{.Docker.Size}}' "$image") bytes"
