#!/usr/bin/env bash
# The web console's checks: the committed console-ui/dist matches a fresh build of the
# sources, then the browser test (Debian's chromium via playwright-core) against
# $GANTRY_BIN. Installs chromium and the npm packages when missing (npm cache outside the
# clone, in ~/.cache/gantry/npm).
# Usage: GANTRY_BIN=target/debug/gantry tests/console_ui/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${GANTRY_BIN:?set GANTRY_BIN to the gantry binary}"
export npm_config_cache="${npm_config_cache:-$HOME/.cache/gantry/npm}"

if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y -qq chromium >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null; }
fi
for dir in console-ui tests/console_ui; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

# The committed build must be what the sources build to.
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
(cd console-ui && npx tsc --noEmit && npx vite build --logLevel error --outDir "$fresh" --emptyOutDir)
if ! diff -r "$fresh" console-ui/dist; then
  echo "console-ui/dist is stale: run 'cd console-ui && npm ci && npm run build' and commit dist/" >&2
  exit 1
fi
echo "console-ui/dist matches its sources"

node tests/console_ui/console_ui.mjs
