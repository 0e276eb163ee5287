#!/usr/bin/env bash
# Wasm plugin costs: throughput and p99 of one route with Higress's `transformer` plugin
# (from the gpustack-higress-plugins wheel) against the same route without it, cold and
# cached load time of that 6 MB plugin, and RSS per loaded plugin and per pooled VM.
# Writes (or replaces) the "Wasm plugins" section at the end of docs/PERFORMANCE.md.
#
#   bench/wasm.sh                              # build (release) and run, ~2 min
#   GANTRY_BIN=path/to/gantry bench/wasm.sh    # that binary instead of building
#   DURATION=5 ROUNDS=1 OUT=/dev/stdout bench/wasm.sh
#
# Environment: GANTRY_BIN, OUT (default docs/PERFORMANCE.md), DURATION (s per wrk run,
# default 10), ROUNDS (alternating with/without rounds, default 3), CONNS (default 32),
# PLUGINS_DIR (default ~/.cache/gantry/plugins/site/gpustack_higress_plugins/plugins).
# Needs wrk and curl (Debian: apt-get install wrk curl).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/docs/PERFORMANCE.md}
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
conns=${CONNS:-32}
plugins=${PLUGINS_DIR:-$HOME/.cache/gantry/plugins/site/gpustack_higress_plugins/plugins}
wasm="$plugins/transformer/2.0.0/plugin.wasm"
[ -f "$wasm" ] || { echo "missing $wasm: python3 -m pip install --no-deps --target ~/.cache/gantry/plugins/site gpustack-higress-plugins==0.5.1" >&2; exit 1; }
if [ -z "${GANTRY_BIN:-}" ]; then
  (cd "$root" && cargo build --release -q -p gantry)
  GANTRY_BIN="${CARGO_TARGET_DIR:-$root/target}/release/gantry"
fi
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d /tmp/gantry-wasm-bench.XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_200() { # host port
  for _ in $(seq 1 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $1" "http://127.0.0.1:$2/")" = 200 ] && return 0
    sleep 0.1
  done
  echo "no 200 from $1 on :$2" >&2; return 1
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

echo_port=$(free_port)
"$GANTRY_BIN" echo --port "$echo_port" >/dev/null 2>&1 & pids+=($!)

# config <dir> <number of transformer plugins> (each on its own Ingress tr<i>; plain has none)
config() {
  local dir=$1 n=$2
  mkdir -p "$dir/mcpbridges" "$dir/ingresses" "$dir/wasmplugins"
  cat > "$dir/mcpbridges/default.yaml" <<YAML
apiVersion: networking.higress.io/v1
kind: McpBridge
metadata: {name: default, namespace: higress-system}
spec:
  registries:
  - {name: echo, type: static, domain: "127.0.0.1:$echo_port", port: 80}
YAML
  for name in plain $(seq -f 'tr%g' 1 "$n"); do
    cat > "$dir/ingresses/$name.yaml" <<YAML
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $name
  namespace: higress-system
  annotations: {higress.io/destination: echo.static}
spec:
  ingressClassName: higress
  rules:
  - host: $name.bench
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}}
YAML
  done
  for i in $(seq 1 "$n"); do
    cat > "$dir/wasmplugins/transformer-$i.yaml" <<YAML
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: transformer-$i, namespace: higress-system}
spec:
  url: file://$wasm
  defaultConfigDisable: true
  matchRules:
  - ingress: [tr$i]
    config:
      reqRules:
      - {operate: add, headers: [{key: x-bench, value: "1"}], querys: [{key: bench, value: "1"}]}
      respRules:
      - {operate: add, headers: [{key: x-bench-resp, value: "1"}]}
YAML
  done
}

# serve <dir> <home>: starts gantry, prints "pid port"
serve() {
  local port; port=$(free_port)
  HOME=$2 RUST_LOG=warn "$GANTRY_BIN" serve --config "$1" --http-port "$port" --https-port 0 \
    --console-port 0 --bind 127.0.0.1 --data-dir "$2/data" >"$2/log" 2>&1 &
  local pid=$!; pids+=("$pid")
  echo "$pid $port"
}

# --- load time: cold (empty compiled-module cache) and cached -------------------------
config "$work/one" 1
mkdir -p "$work/home-load"
load_ms() { local t0 t1; t0=$(date +%s%N); HOME=$work/home-load "$GANTRY_BIN" validate --config "$work/one" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
cold=$(load_ms); cached=$(load_ms); cached2=$(load_ms)
base_ms() { local t0 t1; t0=$(date +%s%N); HOME=$work/home-load "$GANTRY_BIN" validate --config "$work/none" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
config "$work/none" 0
base=$(base_ms)

# --- throughput and p99: tr1.bench (transformer) vs plain.bench -------------------------
mkdir -p "$work/home-run"
read -r pid port < <(serve "$work/one" "$work/home-run")
wait_200 plain.bench "$port"; wait_200 tr1.bench "$port"
[ "$(curl -s -D - -o /dev/null -H 'Host: tr1.bench' "http://127.0.0.1:$port/" | grep -ci x-bench-resp)" = 1 ] \
  || { echo "transformer is not acting on tr1.bench" >&2; exit 1; }
run_wrk() { wrk -t2 -c"$conns" -d"${duration}s" --latency -H "Host: $1" "http://127.0.0.1:$port/" ; }
declare -a with_rps without_rps with_p99 without_p99
p99_ms() { awk '/ 99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v}'; }
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}'; }
for _ in $(seq 1 "$rounds"); do
  r=$(run_wrk plain.bench); without_rps+=("$(rps <<<"$r")"); without_p99+=("$(p99_ms <<<"$r")")
  r=$(run_wrk tr1.bench); with_rps+=("$(rps <<<"$r")"); with_p99+=("$(p99_ms <<<"$r")")
done
kill "$pid"; wait "$pid" 2>/dev/null || true
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
w=$(median "${with_rps[@]}"); wo=$(median "${without_rps[@]}")
wp=$(median "${with_p99[@]}"); wop=$(median "${without_p99[@]}")
cost=$(awk -v a="$w" -v b="$wo" 'BEGIN {printf "%.1f", (b - a) * 100 / b}')

# --- RSS per loaded plugin: 0 vs 4 transformer plugins (one VM started each) -----------
config "$work/four" 4
# idle_rss <config name> [hosts to load first, starting every pooled VM]
idle_rss() {
  local name=$1; shift
  mkdir -p "$work/home-$name"; cp -r "$work/home-load/.cache" "$work/home-$name/" 2>/dev/null || true
  local p pt h
  read -r p pt < <(serve "$work/$name" "$work/home-$name")
  wait_200 plain.bench "$pt" >&2
  for h in "$@"; do
    wrk -t2 -c"$conns" -d2s -H "Host: $h" "http://127.0.0.1:$pt/" >/dev/null
  done
  sleep 3
  rss_kb "$p"
  kill "$p"; wait "$p" 2>/dev/null || true
}
rss_none=$(idle_rss none)
rss_four=$(idle_rss four)
rss_four_pooled=$(idle_rss four tr1.bench tr2.bench tr3.bench tr4.bench)
vms=$(nproc)
per_plugin=$(( (rss_four - rss_none) / 4 ))
per_vm=$(( vms > 1 ? (rss_four_pooled - rss_four) / (4 * (vms - 1)) : 0 ))

section=$(cat <<DOC
## Wasm plugins

Higress's \`transformer\` 2.0.0 (Go SDK, $(du -k "$wasm" | cut -f1) KiB, from the PyPI wheel
\`gpustack-higress-plugins\` 0.5.1) on route \`tr1.bench\` adding a request header, a query
parameter and a response header; \`plain.bench\` is the same route without it. \`wrk -t2
-c$conns -d${duration}s\` on keep-alive connections to a \`gantry echo\` backend, $rounds alternating
rounds, medians.

- machine: $(nproc) CPUs, $(uname -sr), $(rustc --version 2>/dev/null || echo rustc)
- date: $(date -u '+%Y-%m-%d %H:%M UTC'), gantry $(git -C "$root" rev-parse --short HEAD)
- command: \`bench/wasm.sh\` (DURATION=$duration ROUNDS=$rounds CONNS=$conns) on the release build

| route | requests/s | p99 |
|---|---:|---:|
| without plugin | $wo | $wop ms |
| with transformer | $w | $wp ms |
| throughput cost | $cost % | |

| load (\`gantry validate\` on one Ingress + the plugin) | ms |
|---|---:|
| no plugin (baseline) | $base |
| cold: compile the module (empty cache) | $cold |
| cached: compiled module from the on-disk cache | $cached, $cached2 |

| memory (VmRSS) | KiB |
|---|---:|
| per loaded plugin (one VM started), from 0 vs 4 plugins | $per_plugin |
| per extra pooled VM (4 plugins × $vms VMs after load on each route) | $per_vm |
DOC
)
if [ "$out" = /dev/stdout ] || [ ! -f "$out" ]; then
  printf '%s\n' "$section"
else
  python3 - "$out" "$section" <<'PY'
import sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
start = text.find("\n## Wasm plugins\n")
if start >= 0:
    nxt = text.find("\n## ", start + 1)
    text = text[:start] + (text[nxt:] if nxt >= 0 else "\n")
open(path, "w").write(text.rstrip("\n") + "\n\n" + section + "\n")
PY
  echo "wrote the Wasm plugins section of $out" >&2
fi
