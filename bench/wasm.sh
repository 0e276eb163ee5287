#!/usr/bin/env bash
# Wasm plugin costs: throughput, p99 and gantry CPU per request of one route with Higress's
# `transformer` plugin (from the gpustack-higress-plugins wheel) against the same route
# without it, with `gpustack-ip-acl` (the newer Go SDK) and with a no-op module
# (bench/wasm/noop.wat: the host's own cost per plugin); cold and cached load time of that
# 6 MB plugin, and RSS per loaded plugin and per pooled VM.
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
acl_wasm="$plugins/gpustack-ip-acl/0.1.0/plugin.wasm"
noop_wasm="$root/bench/wasm/noop.wasm"
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

# plugin_on <dir> <name> <wasm file> <config>: WasmPlugin <name> acting only on Ingress <name>.
plugin_on() {
  cat > "$1/wasmplugins/$2.yaml" <<YAML
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: $2, namespace: higress-system}
spec:
  url: file://$3
  defaultConfigDisable: true
  matchRules:
  - {ingress: [$2], config: $4}
YAML
}

# routes <dir>: adds Ingresses noop and acl with their plugins to a config.
routes() {
  local dir=$1 name
  for name in noop acl; do
    sed "s/plain/$name/g" "$dir/ingresses/plain.yaml" > "$dir/ingresses/$name.yaml"
  done
  plugin_on "$dir" noop "$noop_wasm" '{}'
  plugin_on "$dir" acl "$acl_wasm" '{consumers: {allowed: {allowedCidrs: [127.0.0.1/32]}}}'
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

# --- throughput, p99 and CPU per request: plain, noop, acl, tr1 (transformer) ---------------
config "$work/run" 1
routes "$work/run"
mkdir -p "$work/home-run"
read -r pid port < <(serve "$work/run" "$work/home-run")
for h in plain noop acl tr1; do wait_200 "$h.bench" "$port"; done
[ "$(curl -s -D - -o /dev/null -H 'Host: tr1.bench' "http://127.0.0.1:$port/" | grep -ci x-bench-resp)" = 1 ] \
  || { echo "transformer is not acting on tr1.bench" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))
# run_wrk <route>: prints "req/s p99_ms cpu_us_per_request"
run_wrk() {
  local t0 t1 r
  t0=$(cpu_ticks)
  r=$(wrk -t2 -c"$conns" -d"${duration}s" --latency -H "Host: $1.bench" -H "x-mse-consumer: allowed" "http://127.0.0.1:$port/")
  t1=$(cpu_ticks)
  awk -v t=$((t1 - t0)) -v us="$tick_us" '
    / 99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p=v}
    /requests in/ {n=$1} /Requests\/sec/ {r=$2}
    END {printf "%.0f %.2f %.1f\n", r, p, t * us / n}' <<<"$r"
}
declare -A rps_of p99_of cpu_of
for _ in $(seq 1 "$rounds"); do
  for h in plain noop acl tr1; do
    read -r a b c < <(run_wrk "$h")
    rps_of[$h]+="$a "; p99_of[$h]+="$b "; cpu_of[$h]+="$c "
  done
done
kill "$pid"; wait "$pid" 2>/dev/null || true
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# shellcheck disable=SC2086 # the lists are space-separated numbers
row() { # route label
  local r p c
  r=$(median ${rps_of[$1]}); p=$(median ${p99_of[$1]}); c=$(median ${cpu_of[$1]})
  local r0 c0
  r0=$(median ${rps_of[plain]}); c0=$(median ${cpu_of[plain]})
  awk -v l="$2" -v r="$r" -v p="$p" -v c="$c" -v r0="$r0" -v c0="$c0" 'BEGIN {
    printf "| %s | %s | %s ms | %s | %.1f %% | +%.1f µs |\n", l, r, p, c, (r0 - r) * 100 / r0, c - c0 }'
}
# shellcheck disable=SC2086
cost=$(awk -v a="$(median ${rps_of[tr1]})" -v b="$(median ${rps_of[plain]})" 'BEGIN {printf "%.1f", (b - a) * 100 / b}')

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
parameter and a response header; \`plain.bench\` is the same route without it, \`noop.bench\` the
same route with a module whose callbacks return at once (\`bench/wasm/noop.wat\`: what the host
itself costs per plugin), \`acl.bench\` with \`gpustack-ip-acl\` 0.1.0 (the newer Higress Go SDK)
allowing the client. \`wrk -t2 -c$conns -d${duration}s\` on keep-alive connections to a \`gantry
echo\` backend, $rounds rounds over the four routes in turn, medians; the default access log on.

- machine: $(nproc) CPUs, $(uname -sr), $(rustc --version 2>/dev/null || echo rustc)
- date: $(date -u '+%Y-%m-%d %H:%M UTC'), gantry $(git -C "$root" rev-parse --short HEAD)
- command: \`bench/wasm.sh\` (DURATION=$duration ROUNDS=$rounds CONNS=$conns) on the release build

| route | requests/s | p99 | gantry CPU µs/request | throughput cost | CPU added per request |
|---|---:|---:|---:|---:|---:|
$(row plain "without plugin")
$(row noop "no-op module (the host's own cost)")
$(row acl "gpustack-ip-acl 0.1.0")
$(row tr1 "with transformer")

Throughput cost of \`transformer\`: **$cost %**. CPU per request is gantry's user + system time
from \`/proc\` over each run divided by its requests; wrk and the backend share the two CPUs.

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
# Replace the section where it is (up to the next heading or bench marker), else put it
# before bench/compare.sh's generated part, else at the end.
start = text.find("\n## Wasm plugins\n")
if start >= 0:
    ends = [i for i in (text.find("\n## ", start + 1), text.find("\n<!-- ", start + 1)) if i >= 0]
    end = min(ends) if ends else len(text)
    text = text[:start + 1] + section + "\n" + text[end:]
else:
    marker = text.find("<!-- bench/compare.sh: begin -->")
    if marker >= 0:
        text = text[:marker] + section + "\n\n" + text[marker:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
  echo "wrote the Wasm plugins section of $out" >&2
fi
