#!/usr/bin/env bash
# Figures for the embedded web console (docs/PERFORMANCE.md): bundle size raw and gzipped
# (-9), the bytes embedded into the binary, and time to interactive on loopback.
# Usage: GANTRY_BIN=target/debug/gantry bench/console_ui.sh [loads]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GANTRY_BIN:?set GANTRY_BIN to the gantry binary}"
total=0; gz=0
for f in $(cd console-ui/dist && find . -type f | sort); do
  raw=$(wc -c < "console-ui/dist/$f"); z=$(gzip -9 -c "console-ui/dist/$f" | wc -c)
  printf '%-40s %8d B raw %8d B gzip\n' "$f" "$raw" "$z"
  total=$((total + raw)); gz=$((gz + z))
done
printf '%-40s %8d B raw %8d B gzip\n' "total (embedded as is)" "$total" "$gz"
[ -d tests/console_ui/node_modules ] || (cd tests/console_ui && npm ci --no-audit --no-fund --loglevel=error)
node bench/console_ui_tti.mjs "${1:-20}"
