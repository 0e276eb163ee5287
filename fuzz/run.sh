#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target for SECONDS each (default 60); exits 1 when a target
# finds a crash (panic), a hang (> 10 s for one input) or an OOM, printing the input's path.
# Usage: fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
targets=(parse_source annotations higress_config yaml_limits)

# cargo-fuzz needs nightly-only rustc flags; stable 1.95 accepts them under RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
# Own target dir: fuzz builds use different RUSTFLAGS and would evict the main build.
export CARGO_TARGET_DIR="${GANTRY_FUZZ_TARGET_DIR:-$HOME/.cache/gantry-fuzz-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
work="$CARGO_TARGET_DIR/work"
mkdir -p "$work"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# No sanitizer: the workspace forbids unsafe code, so ASan would only slow things down; debug
# assertions on, so integer overflow panics as it does in debug builds and tests.
flags=(--fuzz-dir fuzz --sanitizer none --debug-assertions)
start=$(date +%s)
cargo fuzz build "${flags[@]}"
echo "build: $(($(date +%s) - start)) s"

failed=()
for t in "${targets[@]}"; do
  echo "== fuzz $t for $secs s =="
  log="$work/$t.log"
  # New inputs go to the scratch corpus (first dir); the checked-in seeds are only read.
  mkdir -p "$work/corpus/$t"
  status=0
  cargo fuzz run "${flags[@]}" "$t" "$work/corpus/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  tail -n 15 "$log"
  if [ "$status" -ne 0 ]; then
    input="$(grep -o 'Test unit written to .*' "$log" | sed 's/Test unit written to //' | tail -n1)"
    echo "FUZZ FAILURE in $t (exit $status); input: ${input:-see $log}"
    echo "  reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run ${flags[*]} $t ${input:-<input>}"
    echo "  minimise:  RUSTC_BOOTSTRAP=1 cargo fuzz tmin ${flags[*]} $t ${input:-<input>}"
    failed+=("$t")
  fi
done
echo "fuzz total: $(($(date +%s) - start)) s"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz targets with crashes: ${failed[*]}"
  exit 1
fi
