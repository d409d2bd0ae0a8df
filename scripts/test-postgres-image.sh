#!/usr/bin/env bash
# A TEST STAND-IN for docker.io/library/postgres, NOT FOR PRODUCTION: no base
# image can be pulled on the test machines, so the compose test
# (hub/internal/packagetest/compose_test.go) builds this one FROM scratch out
# of this machine's own PostgreSQL (the newest Debian postgresql-NN installed): the server,
# initdb and pg_isready with their shared libraries (ldd), dash as /bin/sh for
# the entrypoint below, and the time zones. Operators use the official image
# (deploy/compose.yaml's default); this one only mimics what compose.yaml uses
# of it: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, the data in
# /var/lib/postgresql/data (initdb on the first start, password auth
# (scram-sha-256) from any address), a non-root postgres user and pg_isready
# for the healthcheck. No security updates, no configuration knobs.
#
#   scripts/test-postgres-image.sh [IMAGE]   (default localhost/reviewhub-test-postgres:NN)
#
# Needs root, buildah, a PostgreSQL server package and dash installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}
# The newest PostgreSQL server installed here (Debian: postgresql-NN).
ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)
image=${1:-localhost/reviewhub-test-postgres:${ver:-none}}
pg=/usr/lib/postgresql/$ver
share=/usr/share/postgresql/$ver
[ -n "$ver" ] && [ -x $pg/bin/postgres ] && [ -d $share ] || { echo "test-postgres-image: no PostgreSQL server is installed (/usr/lib/postgresql/NN, /usr/share/postgresql/NN)" >&2; exit 1; }
[ -x /bin/dash ] || { echo "test-postgres-image: dash is not installed" >&2; exit 1; }
uid=999

root=$(mktemp -d)
ctr=""
cleanup() { [ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$root"; }
trap cleanup EXIT

install -d "$root$pg/bin" "$root$pg/lib" "$root/bin" "$root/etc" "$root/usr/share"
for b in postgres initdb pg_isready; do cp -L "$pg/bin/$b" "$root$pg/bin/$b"; done
# The server's modules; JIT (llvmjit, with LLVM's 100 MB) left out: without
# it the server runs with jit off.
(cd $pg/lib && find . -maxdepth 1 -name '*.so' ! -name 'llvmjit*' -print0 | xargs -0 cp -L -t "$root$pg/lib")
install -d "$root/usr/share/postgresql"
cp -a "$share" "$root/usr/share/postgresql/"
tar -C /usr/share --exclude=zoneinfo/right --exclude=zoneinfo/posix -cf - zoneinfo | tar -C "$root/usr/share" -xf -
cp -L /bin/dash "$root/bin/sh"
# Every shared library the binaries and modules load, at the path ldd names.
for f in "$root$pg"/bin/* "$root$pg"/lib/*.so "$root/bin/sh"; do
	ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}'
done | sort -u | while read -r lib; do
	install -d "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\npostgres:x:%d:%d:PostgreSQL:/var/lib/postgresql:/sbin/nologin\n' $uid $uid > "$root/etc/passwd"
printf 'root:x:0:\npostgres:x:%d:\n' $uid > "$root/etc/group"
install -d -m 0700 -o $uid -g $uid "$root/var/lib/postgresql/data"
chown $uid:$uid "$root/var/lib/postgresql"
install -d -m 2775 -o $uid -g $uid "$root/var/run/postgresql"
install -d -m 1777 "$root/tmp"

# The entrypoint (dash: shell built-ins only, nothing else is in the image).
install -d "$root/usr/local/bin"
cat > "$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
# Test stand-in for the official postgres image's entrypoint (see
# scripts/test-postgres-image.sh): not for production.
set -eu
PATH=@PGBIN@
PGDATA=/var/lib/postgresql/data
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		echo "test-postgres: POSTGRES_PASSWORD is not set" >&2
		exit 1
	fi
	# The password reaches initdb through a pipe, never a file or argv.
	printf '%s\n' "$POSTGRES_PASSWORD" | initdb -D "$PGDATA" -U "$user" --pwfile=/dev/stdin \
		--auth=scram-sha-256 -E UTF8 --locale=C >/dev/null
	unset POSTGRES_PASSWORD
	printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
	if [ "$db" != postgres ]; then
		printf 'CREATE DATABASE "%s";\n' "$db" | postgres --single -D "$PGDATA" -c jit=off postgres >/dev/null
	fi
	echo "test-postgres: initialised $PGDATA (user $user, database $db)"
fi
unset POSTGRES_PASSWORD
exec postgres -D "$PGDATA" -c listen_addresses='*' -c jit=off
EOF
sed -i "s|@PGBIN@|$pg/bin|" "$root/usr/local/bin/docker-entrypoint.sh"
chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"

ctr=$(buildah from scratch)
mnt=$(buildah mount "$ctr")
cp -a "$root"/. "$mnt"/
buildah umount "$ctr" >/dev/null
buildah config --os linux --arch amd64 --user $uid:$uid --workingdir /var/lib/postgresql \
	--volume /var/lib/postgresql/data --port 5432 --stop-signal SIGINT \
	--env PATH=$pg/bin:/bin --env PGDATA=/var/lib/postgresql/data \
	--entrypoint '["/usr/local/bin/docker-entrypoint.sh"]' --cmd '' \
	--label "org.opencontainers.image.description=Reviewhub TEST stand-in for the postgres image (scripts/test-postgres-image.sh); not for production" \
	"$ctr"
buildah commit --quiet --format oci --rm "$ctr" "$image" >/dev/null
ctr=""
echo "test-postgres-image: $image"
