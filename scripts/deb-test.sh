#!/usr/bin/env bash
# Installs the Debian package on this machine (as root), starts the
# installed hub as the reviewhub user with the packaged configuration,
# checks it, removes and purges the package and checks the state is kept.
# Everything it made is removed at the end. Refuses to run where reviewhub
# is installed or /var/lib/reviewhub exists.
#
#   scripts/deb-test.sh dist/reviewhub_VERSION_amd64.deb
set -euo pipefail
deb=${1:?usage: scripts/deb-test.sh PACKAGE.deb}
[ "$(id -u)" = 0 ] || { echo "deb-test: needs root (dpkg -i)" >&2; exit 1; }
if dpkg -s reviewhub >/dev/null 2>&1 || [ -e /var/lib/reviewhub ] || [ -e /etc/reviewhub ]; then
	echo "deb-test: reviewhub is installed here (or its folders exist); not testing over it" >&2
	exit 1
fi
had_user=0
getent passwd reviewhub >/dev/null && had_user=1
hubpid=""
cleanup() {
	[ -n "$hubpid" ] && kill "$hubpid" 2>/dev/null || true
	dpkg --purge reviewhub >/dev/null 2>&1 || true
	[ $had_user = 1 ] || userdel reviewhub >/dev/null 2>&1 || true
	getent group reviewhub >/dev/null && [ $had_user = 0 ] && groupdel reviewhub >/dev/null 2>&1 || true
	rm -rf /var/lib/reviewhub /etc/reviewhub
}
trap cleanup EXIT
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }

echo "deb-test: dpkg -i $deb"
dpkg -i "$deb"
getent passwd reviewhub | grep -q ':/usr/sbin/nologin$' || fail "no reviewhub system user with nologin"
uid=$(id -u reviewhub); [ "$uid" -lt 1000 ] || fail "reviewhub is not a system user (uid $uid)"
[ "$(stat -c '%U %a' /var/lib/reviewhub)" = "reviewhub 700" ] || fail "/var/lib/reviewhub: $(stat -c '%U %a' /var/lib/reviewhub)"
[ "$(stat -c '%U:%G %a' /etc/reviewhub/hub.yaml)" = "root:reviewhub 640" ] || fail "hub.yaml: $(stat -c '%U:%G %a' /etc/reviewhub/hub.yaml)"
[ "$(stat -c '%U %a' /etc/reviewhub/reviewhub.env)" = "root 600" ] || fail "reviewhub.env: $(stat -c '%U %a' /etc/reviewhub/reviewhub.env)"
unit=/lib/systemd/system/reviewhub.service
for d in KillMode=mixed NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/reviewhub User=reviewhub; do
	grep -qx "$d" $unit || fail "$unit lacks $d"
done
# The installed unit as systemd reads it (deploy/systemd_test.go checks the
# same on the source; the hub below runs under setpriv, not systemd: the
# test machines have no systemd running).
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found (Debian: systemd)"
out=$(systemd-analyze verify $unit 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
out=$(systemd-analyze security --offline=yes --threshold=35 $unit 2>&1) || fail "systemd-analyze security: exposure over 3.5: $out"
echo "deb-test: systemd-analyze verify: ok; security (offline): $(echo "$out" | sed -n 's/.*Overall exposure level for [^:]*: //p')"
/usr/bin/hub version

# The installed hub, as the service runs it (the user, the config), on a free port;
# setpriv execs it (runuser would stay in between and answer SIGTERM itself).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
setpriv --reuid=reviewhub --regid=reviewhub --clear-groups env HUB_LISTEN=127.0.0.1:$port /usr/bin/hub serve --config /etc/reviewhub/hub.yaml >"$log" 2>&1 &
hubpid=$!
ready=0
for _ in $(seq 1 600); do
	if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
	kill -0 $hubpid 2>/dev/null || break
	sleep 0.1
done
[ $ready = 1 ] || { cat "$log"; fail "the installed hub did not become ready"; }
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || fail "/healthz"
[ -f /var/lib/reviewhub/hub.db ] || fail "no state in /var/lib/reviewhub"
[ "$(stat -c %U /var/lib/reviewhub/hub.db)" = reviewhub ] || fail "hub.db not owned by reviewhub"
plugins=$(runuser -u reviewhub -- /usr/bin/hub plugins --config /etc/reviewhub/hub.yaml)
for p in appstore googleplay rustore appgallery omnidesk zendesk slack telegram libretranslate deepl; do
	echo "$plugins" | grep -q "^$p .* ok " || { echo "$plugins"; fail "plugin $p not running from /usr/lib/reviewhub/plugins"; }
done
kill -TERM $hubpid
rc=0; wait $hubpid || rc=$?
hubpid=""
[ $rc = 0 ] || { cat "$log"; fail "the hub exited $rc after SIGTERM"; }
echo "deb-test: installed hub ready on 127.0.0.1:$port, 8 plugins, clean stop"

dpkg -r reviewhub
[ ! -e /usr/bin/hub ] || fail "/usr/bin/hub left after remove"
[ -f /var/lib/reviewhub/hub.db ] || fail "remove deleted the state"
[ -f /etc/reviewhub/hub.yaml ] || fail "remove deleted the configuration (conffiles go on purge)"
dpkg --purge reviewhub
[ ! -e /etc/reviewhub/hub.yaml ] || fail "purge left the configuration"
[ -f /var/lib/reviewhub/hub.db ] || fail "purge deleted the state"
echo "deb-test: removed and purged, the state kept in /var/lib/reviewhub: ok"
