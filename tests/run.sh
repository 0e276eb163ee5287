#!/usr/bin/env bash
# Runs every check and test of the workspace, installing what the tests need first.
# Usage: tests/run.sh            (CI runs exactly this)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gantry-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s ==\n' "$*"; }

step "system packages"
standalone/dev-deps.sh

step "test tools (shellcheck, for the installer and service scripts)"
if command -v shellcheck >/dev/null 2>&1; then
  echo "found $(command -v shellcheck)"
elif command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y -qq shellcheck >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq shellcheck >/dev/null; }
else
  echo "shellcheck missing: tests/systemd_unit.rs skips its script checks" >&2
fi

step "docker-registry (the OCI registry the remote Wasm plugin tests pull from)"
if command -v docker-registry >/dev/null 2>&1 || [ -n "${DOCKER_REGISTRY_BIN:-}" ]; then
  echo "found ${DOCKER_REGISTRY_BIN:-$(command -v docker-registry)}"
elif command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null || { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null; }
  # The package starts a system registry on :5000 where an init system runs; tests start their own.
else
  echo "docker-registry missing: tests/wasm_remote.rs fails (set DOCKER_REGISTRY_BIN)" >&2
fi

step "redis-server (the Redis the Wasm plugin Redis-call tests count in)"
if command -v redis-server >/dev/null 2>&1 || [ -n "${REDIS_SERVER_BIN:-}" ]; then
  echo "found ${REDIS_SERVER_BIN:-$(command -v redis-server)}"
elif command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null || { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
  # The package may start a system Redis on :6379 where an init system runs; tests start their own.
else
  echo "redis-server missing: the Redis tests in tests/wasm_plugins.rs fail (set REDIS_SERVER_BIN)" >&2
fi

step "rnacos (the Nacos-protocol server the Nacos tests run against)"
RNACOS_ROOT="$HOME/.cache/gantry/rnacos"
export RNACOS_BIN="${RNACOS_BIN:-$RNACOS_ROOT/bin/rnacos}"
if [ -x "$RNACOS_BIN" ]; then
  echo "found $RNACOS_BIN"
else
  # About 8 minutes cold on 2 cores; cached outside the clone.
  cargo install rnacos --version 0.8.8 --root "$RNACOS_ROOT"
fi

step "Wasm plugins (the gpustack-higress-plugins wheel the plugin tests load)"
plugins_site="$HOME/.cache/gantry/plugins/site"
if [ -f "$plugins_site/gpustack_higress_plugins/plugins/transformer/2.0.0/plugin.wasm" ]; then
  echo "found $plugins_site"
else
  python3 -m pip install --quiet --no-deps --target "$plugins_site" \
    gpustack-higress-plugins==0.5.1
fi

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets -- -D warnings

step "build"
cargo build --workspace --bins

step "validate the bundled samples"
for dir in conf-samples/*/; do
  "$CARGO_TARGET_DIR/debug/gantry" validate --config "$dir"
done

step "tests"
export GANTRY_BIN="$CARGO_TARGET_DIR/debug/gantry"
cargo test --workspace -- --test-threads=2

step "allocation guard (bench/profile.sh: heap allocations per proxied request, debug build)"
# Calls into the allocator per bodiless keep-alive request under callgrind, about 25 s.
# Today 86.7-89.2 in the debug build (Pingora's timer wheel allocates by elapsed time, so
# the figure moves a few percent between runs): the bound, 100, catches regressions;
# issue 11's target (<= 15) is not reached yet, see docs/PERFORMANCE.md.
MAX_ALLOCS=100 GANTRY_BIN="$GANTRY_BIN" DURATION=8 bench/profile.sh

step "web console (committed build matches sources; browser test in Debian chromium)"
if [ "${GANTRY_SKIP_CONSOLE_UI:-0}" = 1 ]; then echo "skipped (GANTRY_SKIP_CONSOLE_UI=1)"; else tests/console_ui/run.sh; fi

step "console API fuzz (schemathesis, 60 s)"
if [ "${GANTRY_SKIP_CONSOLE_FUZZ:-0}" = 1 ]; then echo "skipped (GANTRY_SKIP_CONSOLE_FUZZ=1)"; else tests/console_fuzz.sh 60; fi

step "fuzz (60 s per target)"
if [ "${GANTRY_SKIP_FUZZ:-0}" = 1 ]; then echo "skipped (GANTRY_SKIP_FUZZ=1)"; else fuzz/run.sh 60; fi
