#!/usr/bin/env bash
# Runs the live interop tests against matter.js (package ./interop, build
# tag "interop", plus ./internal/netns). Every matter.js process runs inside
# a network namespace the test creates and deletes.
#
# Without root, iproute2 or Node >= 20.19 it prints a SKIP line and exits 0.
# With CI=true as root, a missing interop/node_modules is a FAILURE (run
# scripts/setup-interop.sh first).
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
	echo "interop: SKIP: $*"
	exit 0
}

[ "$(id -u)" = 0 ] || skip "network namespaces need root (run as root, or see README.md)"
command -v ip >/dev/null 2>&1 || skip "iproute2 'ip' not found"
if [ ! -f interop/node_modules/@matter/main/package.json ]; then
	if [ "${CI:-}" = true ]; then
		echo "interop: FAIL: interop/node_modules missing under CI (scripts/setup-interop.sh should have installed it)"
		exit 1
	fi
	command -v node >/dev/null 2>&1 || skip "node not found (need Node >= 20.19; then run scripts/setup-interop.sh)"
	skip "matter.js not installed: run scripts/setup-interop.sh"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
go test -count=1 -tags interop -timeout 10m -v ./interop/ ./internal/netns/ 2>&1 | tee "$log" | grep -E '^(--- |PASS|FAIL|ok)|SKIP:'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" != 0 ]; then
	echo "interop: FAILED; full log follows"
	cat "$log"
	exit "$rc"
fi
if grep -q -- '--- SKIP' "$log"; then
	grep -B1 -- '--- SKIP' "$log" | grep -v '^--$' | sed 's/^/interop: /'
fi
echo "interop: ok"
