#!/usr/bin/env bash
# Installs what the tests need on a fresh machine. Idempotent; safe to run twice.
# Go modules come through the module proxy on first build; nothing downloads at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download

# tshark lets the pcap test read our captures with Wireshark's own parser
# (the test falls back to a structural check without it). Only as root.
if ! command -v tshark >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "setup: installing tshark for the pcap test"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; } ||
		echo "setup: could not install tshark; the pcap test checks structure only"
fi

# Chromium opens report.html in the browser test (cmd/mattersim
# TestReportInBrowser), which fails under CI=true without it. Only as root.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "setup: installing chromium for the report.html browser test"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
		echo "setup: could not install chromium; the browser test of report.html will fail under CI=true"
fi

scripts/setup-interop.sh
