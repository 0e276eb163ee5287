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

# need COMMAND PACKAGE OVERRIDE_VAR WHAT_FAILS: reports COMMAND (or the binary the tests'
# OVERRIDE_VAR names; "" for none), else installs Debian's PACKAGE, else says what fails.
need() {
  local cmd=$1 pkg=$2 var=$3 fails=$4 sudo="" override=""
  [ -n "$var" ] && override=${!var:-}
  if [ -n "$override" ] || command -v "$cmd" >/dev/null 2>&1; then
    echo "found ${override:-$(command -v "$cmd")}"
  elif command -v apt-get >/dev/null 2>&1; then
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    # Packages that start a system service where an init system runs (docker-registry on
    # :5000, redis-server on :6379) are fine: tests start their own on free ports.
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null \
      || { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; }
  else
    echo "$cmd missing: $fails${var:+ (set $var)}" >&2
  fi
}

step "test tools (shellcheck, for the installer and service scripts)"
need shellcheck shellcheck "" "tests/systemd_unit.rs skips its script checks"

step "docker-registry (the OCI registry the remote Wasm plugin tests pull from)"
need docker-registry docker-registry DOCKER_REGISTRY_BIN "tests/wasm_remote.rs fails"

step "redis-server (the Redis the Wasm plugin Redis-call tests count in)"
need redis-server redis-server REDIS_SERVER_BIN "the Redis tests in tests/wasm_plugins.rs fail"

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

step "unit tests of the patched crates whose own tests build (third_party/, see GANTRY-PATCH.md)"
# pingora-core's and pingora-proxy's own tests need their upstream dev-dependencies and are
# not run; their patches are covered by the workspace's end-to-end tests above.
cargo test -p pingora-timeout -p pingora-http --lib -- --test-threads=2

step "allocation guard (bench/profile.sh: heap allocations per proxied request, debug build)"
# Calls into the allocator per bodiless keep-alive request under callgrind, about 25 s.
# Today about 44 in the release build and 47 in the debug build (Pingora's timer wheel
# allocates by elapsed time, so the figure moves a few percent between runs): the
# bound, 55, catches regressions; issue 11's target (<= 15) is not reached yet, see
# docs/PERFORMANCE.md.
MAX_ALLOCS=55 GANTRY_BIN="$GANTRY_BIN" DURATION=8 bench/profile.sh

step "idle-connection guard (bench/idle.sh: memory per idle keep-alive connection, debug build)"
# RSS per idle HTTP/1.1 keep-alive connection over 5,000 connections, about 15 s. Today about
# 7 KiB in both builds (32 KiB before the connection task stopped holding room for a TLS
# handshake, an HTTP/2 connection and copies of moved values); the bound is issue 11's 8 KiB.
MAX_IDLE_KIB=8 GANTRY_BIN="$GANTRY_BIN" bench/idle.sh

step "web console (committed build matches sources; browser test in Debian chromium)"
if [ "${GANTRY_SKIP_CONSOLE_UI:-0}" = 1 ]; then echo "skipped (GANTRY_SKIP_CONSOLE_UI=1)"; else tests/console_ui/run.sh; fi

step "console API fuzz (schemathesis, 60 s)"
if [ "${GANTRY_SKIP_CONSOLE_FUZZ:-0}" = 1 ]; then echo "skipped (GANTRY_SKIP_CONSOLE_FUZZ=1)"; else tests/console_fuzz.sh 60; fi

step "fuzz (60 s per target)"
if [ "${GANTRY_SKIP_FUZZ:-0}" = 1 ]; then echo "skipped (GANTRY_SKIP_FUZZ=1)"; else fuzz/run.sh 60; fi
