#!/usr/bin/env bash
# Installs what the tests need on a fresh machine. Idempotent; safe to run twice.
# Go modules come through the module proxy on first build; nothing downloads at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download
if [ -x scripts/setup-interop.sh ]; then scripts/setup-interop.sh; fi
