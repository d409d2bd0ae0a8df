#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 2s).
# `make test` runs it briefly; run `make fuzz FUZZTIME=1m` for a longer look.
set -euo pipefail
fuzztime="${FUZZTIME:-2s}"
status=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	grep -lq '^func Fuzz' "$dir"/*_test.go 2>/dev/null || continue
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //'); do
		echo "fuzz $pkg $target ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/fuzz.$$.log 2>&1; then
			cat /tmp/fuzz.$$.log
			status=1
		fi
	done
done
rm -f /tmp/fuzz.$$.log
exit $status
