#!/usr/bin/env bash
# Installs what the interop tests need: matter.js (pinned in
# interop/package-lock.json) into interop/node_modules, and Debian's
# python3-cryptography for the reference PASE probe. Idempotent and quick on
# a second run (a stamp of the lock file and Node version skips npm ci).
# Without Node >= 20.19 it prints why and exits 0: the interop tests skip.
set -euo pipefail
cd "$(dirname "$0")/../interop"

say() { echo "setup-interop: $*"; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	say "node/npm not found; matter.js not installed, interop tests will SKIP (need Node >= 20.19)"
	exit 0
fi
v=$(node -p 'process.versions.node')
# matter.js 0.17.9 engines: node >=20.19.0 <22.0.0 || >=22.13.0
ver_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
if ! ver_ge "$v" 20.19.0 || { ver_ge "$v" 22.0.0 && ! ver_ge "$v" 22.13.0; }; then
	say "Node $v is too old for matter.js 0.17.9 (needs >=20.19 <22, or >=22.13); interop tests will SKIP"
	exit 0
fi

want="$(sha256sum package-lock.json | cut -d' ' -f1) node-$v"
stamp=node_modules/.mattersim-stamp
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f node_modules/@matter/main/package.json ]; then
	say "matter.js up to date (Node $v)"
else
	say "installing matter.js with npm ci (Node $v, ~150 MB, ~15 s)"
	npm ci --no-audit --no-fund --loglevel=error
	echo "$want" >"$stamp"
fi

# The reference probe (interop/pase_probe.py) needs Debian's python3 with
# python3-cryptography. Install it only when missing, only as root.
py=/usr/bin/python3
if [ -x "$py" ] && "$py" -c 'import cryptography' 2>/dev/null; then
	:
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	say "installing python3-cryptography for the reference PASE probe"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-cryptography >/dev/null; } ||
		say "could not install python3-cryptography; the probe test will SKIP"
else
	say "python3-cryptography missing and not root; the probe test will SKIP"
fi
