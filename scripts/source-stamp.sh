#!/usr/bin/env bash
# The source tree a release folder was built from, so that make image and
# make deb never package binaries older than the sources.
#
#   scripts/source-stamp.sh                 prints the stamp of the tree: a
#                                           SHA-256 over the names and contents of
#                                           every file git tracks or would track
#                                           (outside git: every file but outputs)
#   scripts/source-stamp.sh write REL       records it beside REL (REL.source)
#   scripts/source-stamp.sh check REL       exit 1 unless REL was built from
#                                           this tree as it is now
set -euo pipefail
cd "$(dirname "$0")/.."
# The tree's files: what git tracks or would track, or outside a git
# checkout (a source archive) every file but the build's outputs and tools.
files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard
	else
		find . \( -path ./.git -o -path ./dist -o -path ./bin -o -path ./.tools -o -path ./data \
			-o -path ./bench-results -o -name node_modules \) -prune -o -type f -printf '%P\0' | sort -z
	fi
}
stamp() {
	files | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
		xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1
}
case "${1:-}" in
"") stamp ;;
write) stamp > "${2:?usage: scripts/source-stamp.sh write RELEASE_DIR}.source" ;;
check)
	rel=${2:?usage: scripts/source-stamp.sh check RELEASE_DIR}
	want=$(cat "$rel.source" 2>/dev/null || true)
	if [ -z "$want" ]; then
		echo "$rel was not built by scripts/release.sh here (no $rel.source): run make release, or make image / make deb, which build it" >&2
		exit 1
	fi
	if [ "$want" != "$(stamp)" ]; then
		echo "$rel is stale: the sources changed since it was built; run make release, or make image / make deb, which rebuild it" >&2
		exit 1
	fi
	;;
*) echo "usage: scripts/source-stamp.sh [write|check RELEASE_DIR]" >&2; exit 2 ;;
esac
