#!/usr/bin/env bash
# Runs every native Go fuzz target in the module for the given time each.
# -timeout 0: go test's default 10m limit would otherwise kill a 10m fuzz run
# just before it ends ("context deadline exceeded").
# Usage: scripts/fuzz.sh 10s   (make fuzz-smoke)   scripts/fuzz.sh 10m   (make fuzz)
set -euo pipefail
time=${1:-10s}
cd "$(dirname "$0")/.."
found=0
for pkg in $(go list ./...); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		found=$((found + 1))
		echo "fuzz: $pkg $t for $time"
		go test -run '^$' -timeout 0 -fuzz "^${t}\$" -fuzztime "$time" "$pkg" >/tmp/fuzz.$$.log 2>&1 || {
			cat /tmp/fuzz.$$.log
			rm -f /tmp/fuzz.$$.log
			echo "fuzz: $t FAILED"
			exit 1
		}
		grep -E 'elapsed|^ok' /tmp/fuzz.$$.log | tail -1
	done
done
rm -f /tmp/fuzz.$$.log
echo "fuzz: $found targets, none failed"
