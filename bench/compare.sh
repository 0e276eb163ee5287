#!/usr/bin/env bash
# Gantry next to nginx and HAProxy on this machine, in one run: HTTP/1.1 keep-alive
# proxying, HTTPS (keep-alive and new handshakes), h2 / h2c, gRPC unary over h2c,
# route-table scale, reload cost and memory. Writes (or replaces) the "Comparison with
# nginx and HAProxy" section at the end of docs/PERFORMANCE.md; bench/run.sh calls it last.
#
#   bench/compare.sh                          # build (release) and run everything, ~10 min
#   GANTRY_BIN=path/to/gantry bench/compare.sh  # benchmark that binary instead of building
#   ONLY=grpc DURATION=3 ROUNDS=1 PROFILE=0 QUIET_WAIT=0 bench/compare.sh
#                                             # just the gRPC runs; prints the section on stdout
#   DURATION=5 ROUNDS=1 bench/compare.sh      # quicker
#   PROFILE=0 bench/compare.sh                # skip the callgrind profiles
#   KEEP_WORK=1 bench/compare.sh; REPORT_FROM=/tmp/gantry-compare.XXXX bench/compare.sh
#                                             # keep the raw results; re-render the section
#
# Installs what is missing from Debian packages (nginx, haproxy, wrk, nghttp2-client for
# h2load, openssl, curl) without starting their system services, then runs its own
# servers from config files in a temp dir, on free 127.0.0.1 ports, and stops them at the
# end. Servers are pinned to CPU 0 and load generators to CPU 1 (with taskset, when the
# machine has two or more CPUs); every server gets one worker (nginx worker_processes 1,
# HAProxy nbthread 1, Gantry one Pingora worker since it sizes its pool from the CPUs it
# may run on).
#
# Environment: GANTRY_BIN, GANTRY_REV (label for that binary; default: git rev of this
# tree), GANTRY_BENCH_BIN (gRPC echo backend and request writer; default: gantry-bench
# next to GANTRY_BIN, else built), OUT (default docs/PERFORMANCE.md; with ONLY: stdout),
# DURATION (s, default 10), WARMUP (s, default 2), CONNS (default 50), ROUNDS (HTTP/1.1
# rounds, default 3), H2_STREAMS (default 10), IDLE_CONNS (default 10000), PROFILE
# (default 1), QUIET_WAIT (s to wait for other CPU use to stop before measuring, default
# 60), KEEP_WORK=1 keeps the temp dir, REPORT_FROM, ONLY=grpc (run and report only the gRPC
# unary section, for working on it; the other servers still start).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
here=$root/bench/compare
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
only=${ONLY:-}
if [[ -n $only && $only != grpc ]]; then
  echo "compare: ONLY=$only: the only section that runs alone is grpc" >&2
  exit 2
fi
# With ONLY and no OUT the section goes to stdout, not into docs/PERFORMANCE.md.
if [[ -n $only ]]; then out=${OUT:-}; else out=${OUT:-$root/docs/PERFORMANCE.md}; fi
duration=${DURATION:-10}
warmup=${WARMUP:-2}
conns=${CONNS:-50}
rounds=${ROUNDS:-3}
h2_streams=${H2_STREAMS:-10}
idle_conns=${IDLE_CONNS:-10000}
profile=${PROFILE:-1}
script_start=$(date +%s)

log() { echo "compare: $*" >&2; }

# write_report WORK: renders WORK's results and puts them in $out in place of an earlier copy
# of this section (or at the end).
write_report() {
  local section begin end tmp
  section=$(python3 "$here/report.py" "$1")
  begin='<!-- bench/compare.sh: begin -->'
  end='<!-- bench/compare.sh: end -->'
  tmp=$(mktemp "$out.XXXXXX")
  if [[ -f $out ]]; then
    # Everything but a previous copy of this section.
    awk -v b="$begin" -v e="$end" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' "$out" >"$tmp"
  fi
  # One blank line between the rest of the doc and this section.
  python3 - "$tmp" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().rstrip("\n")
open(p, "w").write(s + "\n\n" if s else "")
PY
  {
    echo "$begin"
    echo "$section"
    echo "$end"
  } >>"$tmp"
  mv "$tmp" "$out"
}
# emit_report WORK: write_report, or the rendered section on stdout when $out is empty.
emit_report() {
  if [[ -n $out ]]; then
    write_report "$1"
  else
    python3 "$here/report.py" "$1"
  fi
}

# REPORT_FROM=DIR: only re-render the section from a run kept with KEEP_WORK=1 (e.g. after
# editing bench/compare/analysis.md or report.py).
if [[ -n ${REPORT_FROM:-} ]]; then
  emit_report "$REPORT_FROM"
  log "wrote ${out:-stdout} from $REPORT_FROM"
  exit 0
fi

# --- tools -------------------------------------------------------------------

need_install=()
command -v nginx >/dev/null || need_install+=(nginx)
command -v haproxy >/dev/null || need_install+=(haproxy)
command -v wrk >/dev/null || need_install+=(wrk)
command -v h2load >/dev/null || need_install+=(nghttp2-client)
command -v openssl >/dev/null || need_install+=(openssl)
command -v curl >/dev/null || need_install+=(curl)
command -v taskset >/dev/null || need_install+=(util-linux)
command -v ss >/dev/null || need_install+=(iproute2)
command -v python3 >/dev/null || need_install+=(python3)
if ((${#need_install[@]})); then
  log "installing ${need_install[*]}"
  # Keep the packages' init scripts from starting system services (an existing
  # policy-rc.d is left as it is).
  own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_install[@]}" >&2
  ((own_policy)) && rm -f /usr/sbin/policy-rc.d
fi

if [[ -z ${GANTRY_BIN:-} ]]; then
  log "building gantry and gantry-bench (release)"
  cargo build --release -p gantry -p gantry-bench >&2
  GANTRY_BIN=$CARGO_TARGET_DIR/release/gantry
fi
# gantry-bench serves the gRPC echo backend and writes the gRPC request body.
GANTRY_BENCH_BIN=${GANTRY_BENCH_BIN:-$(dirname "$GANTRY_BIN")/gantry-bench}
if [[ ! -x $GANTRY_BENCH_BIN ]]; then
  log "building gantry-bench (release)"
  cargo build --release -p gantry-bench >&2
  GANTRY_BENCH_BIN=$CARGO_TARGET_DIR/release/gantry-bench
fi

# --- work dir, cleanup -------------------------------------------------------

work=$(mktemp -d /tmp/gantry-compare.XXXXXX)
chmod 755 "$work"
mkdir -p "$work/raw" "$work/res"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# Stops one server started by this script.
stop() {
  local p=$1 q
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  local keep=()
  for q in "${pids[@]}"; do [[ $q == "$p" ]] || keep+=("$q"); done
  pids=("${keep[@]}")
}

cp "$GANTRY_BIN" "$work/gantry"
gantry=$work/gantry
cp "$GANTRY_BENCH_BIN" "$work/gantry-bench"
gantry_bench=$work/gantry-bench
ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)
if ((idle_conns > nofile - 1000)); then
  log "open-file limit $nofile: IDLE_CONNS lowered to $((nofile - 1000))"
  idle_conns=$((nofile - 1000))
fi

if (($(nproc) >= 2)); then
  srv=(taskset -c 0)
  load=(taskset -c 1)
  pinning="servers on CPU 0, load generators on CPU 1 (taskset)"
else
  srv=()
  load=()
  pinning="no pinning (one CPU)"
fi

# N free loopback ports.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
read -r p_backend p_ng_http p_ng_https p_ng_h2c p_ha p_gt_http p_gt_https p_scale p_prof p_prof_tls p_prof_h2c \
  p_gt_grpc p_ng_grpc p_ha_grpc <<<"$(free_ports 14)"
# The gRPC echo backend picks its own port when it starts (gRPC section).
p_grpc=

# Sum of utime+stime (clock ticks) of the given pids and their children.
ticks() {
  local total=0 p c
  for p in "$@"; do
    for c in "$p" $(pgrep -P "$p" || true); do
      total=$((total + $(sed 's/.*) //' "/proc/$c/stat" | awk '{print $12 + $13}')))
    done
  done
  echo "$total"
}
# Sum of VmRSS (KiB) of the given pids and their children.
rss() {
  local total=0 p c
  for p in "$@"; do
    for c in "$p" $(pgrep -P "$p" || true); do
      total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$c/status")))
    done
  done
  echo "$total"
}
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# Waits until URL answers 200 (extra curl args may follow).
wait_ok() {
  local url=$1
  shift
  for _ in $(seq 200); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" || true) == 200 ]] && return 0
    sleep 0.05
  done
  log "no 200 from $url"
  return 1
}

cmdlog=$work/res/commands.txt
: >"$cmdlog"
# Records a command line (once per distinct command) for the report, quoting arguments
# that need it.
note_cmd() {
  local a line=""
  for a in "$@"; do
    if [[ $a == "# "* ]]; then
      : # a trailing comment, as is
    elif [[ $a == *"'"* ]]; then
      a=$(printf '%q' "$a")
    elif [[ $a =~ [^A-Za-z0-9_./:=@%+,-] ]]; then
      a="'$a'"
    fi
    line+="${line:+ }$a"
  done
  local np
  for np in BACKEND:$p_backend NGINX_HTTP:$p_ng_http NGINX_HTTPS:$p_ng_https NGINX_H2C:$p_ng_h2c \
    HAPROXY:$p_ha GANTRY_HTTP:$p_gt_http GANTRY_HTTPS:$p_gt_https GANTRY_SCALE:$p_scale \
    PROFILED:$p_prof GANTRY_GRPC:$p_gt_grpc NGINX_GRPC:$p_ng_grpc \
    HAPROXY_GRPC:$p_ha_grpc ${p_grpc:+GRPC_BACKEND:$p_grpc}; do
    line=${line//127.0.0.1:${np#*:}/127.0.0.1:${np%%:*}}
    line=${line//-port ${np#*:}/-port ${np%%:*}}
  done
  line=${line//$work/WORK}
  grep -qxF -- "$line" "$cmdlog" || echo "$line" >>"$cmdlog"
}
# Connections the backend has accepted so far.
backend_accepts() {
  curl -s "http://127.0.0.1:$p_backend/nginx_status" | awk 'NR == 3 {print $1}'
}
# "busy total" jiffies of CPU 0 and CPU 1 (all CPUs if there is only one).
# "busy total steal" jiffies of CPU 0 and CPU 1 (steal: time the hypervisor gave to others).
cpustat() {
  awk '/^cpu[01] / {busy = $2 + $3 + $4 + $7 + $8 + $9; printf "%d %d %d ", busy, busy + $5 + $6, $9}' /proc/stat
}
# busy % (and steal %) per CPU between two cpustat outputs.
busy_pct() {
  local a=($1) b=($2)
  local out="" i t
  for ((i = 0; i < ${#a[@]}; i += 3)); do
    t=$((b[i + 1] - a[i + 1] + 1))
    out+="cpu$((i / 3))_busy=$(((b[i] - a[i]) * 100 / t)) cpu$((i / 3))_steal=$(((b[i + 2] - a[i + 2]) * 100 / t)) "
  done
  echo "$out"
}

# measure NAME "PROXY_PIDS" URL [wrk args...]: warm-up, then a timed wrk run; saves the
# raw output and the CPU ticks of the proxy and of the backend during the timed run.
measure() {
  local name=$1 proxy_pids=$2 url=$3
  shift 3
  log "wrk $name"
  "${load[@]}" wrk -t1 -c"$conns" -d"${warmup}s" "$@" "$url" >/dev/null
  local t0 b0 a0 c0 t1 b1 a1 c1
  a0=$(backend_accepts)
  t0=$(ticks $proxy_pids)
  b0=$(ticks "$backend_pid")
  c0=$(cpustat)
  "${load[@]}" wrk -t1 -c"$conns" -d"${duration}s" --latency -s "$here/pct.lua" "$@" "$url" >"$work/raw/$name.txt"
  c1=$(cpustat)
  t1=$(ticks $proxy_pids)
  b1=$(ticks "$backend_pid")
  a1=$(backend_accepts)
  echo "proxy_ticks=$((t1 - t0)) backend_ticks=$((b1 - b0)) clk_tck=$(getconf CLK_TCK)" \
    "backend_conns=$((a1 - a0 - 1)) $(busy_pct "$c0" "$c1")" >"$work/raw/$name.cpu"
  note_cmd "${load[@]}" wrk -t1 -c"$conns" -d"${duration}s" --latency -s bench/compare/pct.lua "$@" "$url"
}

# measure_h2 NAME "PROXY_PIDS" URL [h2load args...]
measure_h2() {
  local name=$1 proxy_pids=$2 url=$3
  shift 3
  log "h2load $name"
  "${load[@]}" h2load -t1 -c"$conns" -m"$h2_streams" -D "$warmup" "$@" "$url" >/dev/null
  local t0 b0 a0 c0 t1 b1 a1 c1
  a0=$(backend_accepts)
  t0=$(ticks $proxy_pids)
  b0=$(ticks "$backend_pid")
  c0=$(cpustat)
  "${load[@]}" h2load -t1 -c"$conns" -m"$h2_streams" -D "$duration" "$@" "$url" >"$work/raw/$name.txt"
  c1=$(cpustat)
  t1=$(ticks $proxy_pids)
  b1=$(ticks "$backend_pid")
  a1=$(backend_accepts)
  echo "proxy_ticks=$((t1 - t0)) backend_ticks=$((b1 - b0)) clk_tck=$(getconf CLK_TCK)" \
    "backend_conns=$((a1 - a0 - 1)) $(busy_pct "$c0" "$c1")" >"$work/raw/$name.cpu"
  note_cmd "${load[@]}" h2load -t1 -c"$conns" -m"$h2_streams" -D "$duration" "$@" "$url"
}

# measure_grpc NAME "PROXY_PIDS" URL [h2load args...]: measure_h2 for the gRPC runs, whose
# backend is the gRPC echo server ($grpc_pid): it has no accept counter, so instead the
# connections open to it are counted with ss halfway through the timed run.
measure_grpc() {
  local name=$1 proxy_pids=$2 url=$3
  shift 3
  log "h2load $name"
  "${load[@]}" h2load -t1 -c"$conns" -m"$h2_streams" -D "$warmup" "$@" "$url" >/dev/null
  local t0 b0 c0 t1 b1 c1 h open
  t0=$(ticks $proxy_pids)
  b0=$(ticks "$grpc_pid")
  c0=$(cpustat)
  "${load[@]}" h2load -t1 -c"$conns" -m"$h2_streams" -D "$duration" "$@" "$url" >"$work/raw/$name.txt" &
  h=$!
  sleep "$(awk -v d="$duration" 'BEGIN {print d / 2}')"
  open=$(ss -Htn state established "( sport = :$p_grpc )" | wc -l)
  wait "$h"
  c1=$(cpustat)
  t1=$(ticks $proxy_pids)
  b1=$(ticks "$grpc_pid")
  echo "proxy_ticks=$((t1 - t0)) backend_ticks=$((b1 - b0)) clk_tck=$(getconf CLK_TCK)" \
    "backend_open=$open $(busy_pct "$c0" "$c1")" >"$work/raw/$name.cpu"
  note_cmd "${load[@]}" h2load -t1 -c"$conns" -m"$h2_streams" -D "$duration" "$@" "$url"
}

# idle_cpu NAME PID SECONDS: CPU ticks a server uses while idle.
idle_cpu() {
  local t0 t1
  t0=$(ticks "$2")
  sleep "$3"
  t1=$(ticks "$2")
  echo "$1_idle_ticks=$((t1 - t0)) $1_idle_s=$3" >>"$work/res/misc.txt"
}

# --- config and servers -------------------------------------------------------

log "work dir $work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -keyout "$work/key.pem" -out "$work/cert.pem" -subj "/CN=bench.local" \
  -addext "subjectAltName=DNS:bench.local" 2>/dev/null

# fill TEMPLATE HTTP_PORT [HTTPS_PORT H2C_PORT [OUT]]
fill() {
  sed -e "s|@WORK@|$work|g" -e "s|@BACKEND_PORT@|$p_backend|g" -e "s|@GRPC_BACKEND_PORT@|${p_grpc:-0}|g" \
    -e "s|@HTTP_PORT@|$2|g" \
    -e "s|@HTTPS_PORT@|${3:-0}|g" -e "s|@H2C_PORT@|${4:-0}|g" "$here/$1" >"${5:-$work/${1%.in}}"
}
mkdir -p "$work/nginx-backend-tmp" "$work/nginx-proxy-tmp"
fill nginx-backend.conf.in 0
fill nginx-proxy.conf.in "$p_ng_http" "$p_ng_https" "$p_ng_h2c"
fill haproxy.cfg.in "$p_ha"

"${srv[@]}" nginx -p "$work" -c "$work/nginx-backend.conf" -e "$work/nginx-backend-error.log" &
backend_pid=$!
pids+=("$backend_pid")
"${srv[@]}" nginx -p "$work" -c "$work/nginx-proxy.conf" -e "$work/nginx-proxy-error.log" &
nginx_pid=$!
pids+=("$nginx_pid")
"${srv[@]}" haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
pids+=("$haproxy_pid")

note_cmd "${srv[@]}" nginx -p "$work" -c "$work/nginx-backend.conf" -e "$work/nginx-backend-error.log" \
  "# bench/compare/nginx-backend.conf.in"
note_cmd "${srv[@]}" nginx -p "$work" -c "$work/nginx-proxy.conf" -e "$work/nginx-proxy-error.log" \
  "# bench/compare/nginx-proxy.conf.in"
note_cmd "${srv[@]}" haproxy -db -f "$work/haproxy.cfg" "# bench/compare/haproxy.cfg.in"

gt_conf=$work/gantry-base
python3 "$here/gen_config.py" base --out "$gt_conf" --backend "127.0.0.1:$p_backend" \
  --cert "$work/cert.pem" --key "$work/key.pem"
RUST_LOG=${RUST_LOG:-info} "${srv[@]}" "$gantry" serve --config "$gt_conf" --http-port "$p_gt_http" \
  --https-port "$p_gt_https" --console-port 0 --metrics-port 0 --health-port 0 --access-log off --bind 127.0.0.1 >"$work/gantry-base.log" 2>&1 &
gantry_pid=$!
pids+=("$gantry_pid")
note_cmd python3 bench/compare/gen_config.py base --out "$gt_conf" --backend "127.0.0.1:$p_backend" \
  --cert "$work/cert.pem" --key "$work/key.pem"
note_cmd RUST_LOG="${RUST_LOG:-info}" "${srv[@]}" gantry serve --config "$gt_conf" --http-port "$p_gt_http" \
  --https-port "$p_gt_https" --console-port 0 --metrics-port 0 --health-port 0 --access-log off --bind 127.0.0.1
gantry_started=$(date +%s.%N)

H=(-H "Host: bench.local")
wait_ok "http://127.0.0.1:$p_backend/"
wait_ok "http://127.0.0.1:$p_ng_http/" "${H[@]}"
wait_ok "http://127.0.0.1:$p_ha/" "${H[@]}"
wait_ok "http://127.0.0.1:$p_gt_http/" "${H[@]}"
wait_ok "https://127.0.0.1:$p_gt_https/" -k "${H[@]}"
wait_ok "https://127.0.0.1:$p_ng_https/" -k "${H[@]}"
for t in "http://127.0.0.1:$p_gt_http/" "http://127.0.0.1:$p_ng_h2c/"; do
  [[ $(curl -s --http2-prior-knowledge "${H[@]}" -o /dev/null -w '%{http_version} %{http_code}' "$t") == "2 200" ]] ||
    { log "no h2c 200 from $t"; exit 1; }
done
for t in "https://127.0.0.1:$p_gt_https/" "https://127.0.0.1:$p_ng_https/"; do
  [[ $(curl -sk --http2 "${H[@]}" -o /dev/null -w '%{http_version} %{http_code}' "$t") == "2 200" ]] ||
    { log "no h2 200 from $t"; exit 1; }
done

# --- (f) gRPC unary over h2c (defined here, run after the h2 runs) ---------------------

grpc_path=/gantry.test.Echo/Unary
# grpc_ok NAME PORT: waits until 127.0.0.1:PORT answers a unary call with grpc-status 0
# and the echoed message; records the answer, or logs why not and fails.
grpc_ok() {
  local name=$1 port=$2 reply=""
  for _ in $(seq 200); do
    if reply=$("$gantry_bench" grpc-call --port "$port" --authority bench.local 2>&1); then
      echo "grpc-$name $reply" >>"$work/res/grpc.txt"
      return 0
    fi
    sleep 0.05
  done
  log "no grpc-status 0 from $name (127.0.0.1:$port): $reply"
  return 1
}
# grpc_section: starts the gRPC echo backend (gantry-bench grpc-echo, one thread) and in
# front of it a Gantry, an nginx and an HAProxy of their own (one worker each, pinned like
# the others), checks each answers grpc-status 0, measures them with h2load (POST of one
# framed message, the same body every request), then stops them all.
grpc_section() {
  local body=$work/grpc-body.bin
  "$gantry_bench" grpc-body --out "$body"
  "${srv[@]}" "$gantry_bench" grpc-echo >"$work/grpc-echo.out" 2>"$work/grpc-echo.log" &
  grpc_pid=$!
  pids+=("$grpc_pid")
  for _ in $(seq 200); do
    p_grpc=$(awk '$1 == "listening" {sub(/.*:/, "", $2); print $2; exit}' "$work/grpc-echo.out")
    [[ -z $p_grpc ]] || break
    sleep 0.05
  done
  [[ -n $p_grpc ]] || { log "gantry-bench grpc-echo printed no port"; exit 1; }
  case " $p_gt_grpc $p_ng_grpc $p_ha_grpc " in
    *" $p_grpc "*) log "gRPC backend took port $p_grpc meant for a proxy; run again"; exit 1 ;;
  esac
  note_cmd gantry-bench grpc-body --out "$body"
  note_cmd "${srv[@]}" gantry-bench grpc-echo "# prints: listening 127.0.0.1:GRPC_BACKEND"

  mkdir -p "$work/nginx-grpc-tmp"
  fill nginx-grpc.conf.in "$p_ng_grpc"
  fill haproxy-grpc.cfg.in "$p_ha_grpc"
  "${srv[@]}" nginx -p "$work" -c "$work/nginx-grpc.conf" -e "$work/nginx-grpc-error.log" &
  ng_grpc_pid=$!
  pids+=("$ng_grpc_pid")
  "${srv[@]}" haproxy -db -f "$work/haproxy-grpc.cfg" >"$work/haproxy-grpc.log" 2>&1 &
  ha_grpc_pid=$!
  pids+=("$ha_grpc_pid")
  local conf=$work/gantry-grpc
  python3 "$here/gen_config.py" grpc --out "$conf" --backend "127.0.0.1:$p_grpc"
  RUST_LOG=${RUST_LOG:-info} "${srv[@]}" "$gantry" serve --config "$conf" --http-port "$p_gt_grpc" \
    --https-port 0 --console-port 0 --metrics-port 0 --health-port 0 --access-log off --bind 127.0.0.1 >"$work/gantry-grpc.log" 2>&1 &
  gt_grpc_pid=$!
  pids+=("$gt_grpc_pid")
  note_cmd "${srv[@]}" nginx -p "$work" -c "$work/nginx-grpc.conf" -e "$work/nginx-grpc-error.log" \
    "# bench/compare/nginx-grpc.conf.in"
  note_cmd "${srv[@]}" haproxy -db -f "$work/haproxy-grpc.cfg" "# bench/compare/haproxy-grpc.cfg.in"
  note_cmd python3 bench/compare/gen_config.py grpc --out "$conf" --backend "127.0.0.1:$p_grpc"
  note_cmd RUST_LOG="${RUST_LOG:-info}" "${srv[@]}" gantry serve --config "$conf" --http-port "$p_gt_grpc" \
    --https-port 0 --console-port 0 --metrics-port 0 --health-port 0 --access-log off --bind 127.0.0.1
  note_cmd gantry-bench grpc-call --port PORT --authority bench.local "# before measuring: grpc-status 0 and the echo"

  local h=(-H ":authority: bench.local" -H "content-type: application/grpc" -H "te: trailers" -d "$body")
  local t name port pid
  for t in direct:$p_grpc:$grpc_pid gantry:$p_gt_grpc:$gt_grpc_pid nginx:$p_ng_grpc:$ng_grpc_pid \
    haproxy:$p_ha_grpc:$ha_grpc_pid; do
    IFS=: read -r name port pid <<<"$t"
    grpc_ok "$name" "$port" || continue
    measure_grpc "grpc-$name" "$pid" "http://127.0.0.1:$port$grpc_path" "${h[@]}"
  done
  stop "$gt_grpc_pid"
  stop "$ng_grpc_pid"
  stop "$ha_grpc_pid"
  stop "$grpc_pid"
}

# --- wait for a quiet machine ------------------------------------------------------

# Other work (builds, tests) skews every number: wait up to QUIET_WAIT seconds for both
# CPUs to be under 10 % busy over 2 s, then go on either way and record what was seen.
quiet_wait=${QUIET_WAIT:-60}
waited=0
while :; do
  c0=$(cpustat)
  sleep 2
  c1=$(cpustat)
  quiet=$(busy_pct "$c0" "$c1")
  max=$(tr ' ' '\n' <<<"$quiet" | awk -F= '$1 ~ /busy/ && $2 > m {m = $2} END {print m + 0}')
  ((max < 10)) && break
  waited=$((waited + 2))
  if ((waited >= quiet_wait)); then
    log "machine still busy after ${quiet_wait}s ($quiet); going on"
    break
  fi
  ((waited % 30 == 0)) && log "waiting for a quiet machine ($quiet)"
done

# --- facts about this run ------------------------------------------------------

{
  echo "cpus=$(nproc)"
  echo "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "kernel=$(uname -r)"
  echo "mem_total=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "gantry_rev=${GANTRY_REV:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with local changes)')}"
  echo "gantry_sha256=$(sha256sum "$gantry" | cut -c1-64)"
  echo "gantry_version=$("$gantry" --version)"
  echo "nginx_version=$(nginx -v 2>&1)"
  echo "haproxy_version=$(haproxy -v | awk 'NR == 1 {print "HAProxy " $3}')"
  echo "wrk_version=$(wrk -v 2>&1 | awk 'NR == 1 {print "wrk " $2}' || true)"
  echo "h2load_version=$(h2load --version)"
  echo "openssl_version=$(openssl version)"
  echo "pinning=$pinning"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "quiet=waited ${waited}s, then $quiet"
  echo "duration=$duration"
  echo "warmup=$warmup"
  echo "conns=$conns"
  echo "rounds=$rounds"
  echo "h2_streams=$h2_streams"
  echo "idle_conns=$idle_conns"
  echo "only=$only"
  echo "nofile=$nofile"
  echo "gantry_threads=$(ls /proc/$gantry_pid/task | wc -l)"
  echo "gantry_tls=$(echo | openssl s_client -connect "127.0.0.1:$p_gt_https" 2>/dev/null | grep -m1 '^New,' || true)"
  echo "nginx_tls=$(echo | openssl s_client -connect "127.0.0.1:$p_ng_https" 2>/dev/null | grep -m1 '^New,' || true)"
  echo "gantry_response=$(curl -s -D - "${H[@]}" "http://127.0.0.1:$p_gt_http/" | tr -d '\r' | tr '\n' '|')"
  echo "nginx_response=$(curl -s -D - "${H[@]}" "http://127.0.0.1:$p_ng_http/" | tr -d '\r' | tr '\n' '|')"
  echo "haproxy_response=$(curl -s -D - "${H[@]}" "http://127.0.0.1:$p_ha/" | tr -d '\r' | tr '\n' '|')"
} >"$work/res/facts.txt"

# finish: the last facts, then the report.
finish() {
  echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/res/facts.txt"
  echo "runtime_s=$(($(date +%s) - script_start))" >>"$work/res/facts.txt"
  emit_report "$work"
  log "wrote ${out:-the section to stdout} ($(($(date +%s) - script_start)) s)"
}

if [[ $only == grpc ]]; then
  grpc_section
  finish
  exit 0
fi

# --- (i) idle memory, before any load -------------------------------------------

sleep 2
{
  echo "rss_gantry_idle=$(rss "$gantry_pid")"
  echo "rss_nginx_idle=$(rss "$nginx_pid")"
  echo "rss_haproxy_idle=$(rss "$haproxy_pid")"
} >>"$work/res/misc.txt"
idle_cpu gantry_base "$gantry_pid" 5

# --- (a)-(d) HTTP/1.1 keep-alive ------------------------------------------------

for r in $(seq "$rounds"); do
  measure "http-direct-r$r" "$backend_pid" "http://127.0.0.1:$p_backend/" "${H[@]}"
  measure "http-gantry-r$r" "$gantry_pid" "http://127.0.0.1:$p_gt_http/" "${H[@]}"
  measure "http-nginx-r$r" "$nginx_pid" "http://127.0.0.1:$p_ng_http/" "${H[@]}"
  measure "http-haproxy-r$r" "$haproxy_pid" "http://127.0.0.1:$p_ha/" "${H[@]}"
done
sleep 1
{
  echo "rss_gantry_after_load=$(rss "$gantry_pid")"
  echo "hwm_gantry_after_load=$(hwm "$gantry_pid")"
  echo "rss_nginx_after_load=$(rss "$nginx_pid")"
  echo "rss_haproxy_after_load=$(rss "$haproxy_pid")"
} >>"$work/res/misc.txt"

# --- (i) 10k idle keep-alive connections ------------------------------------------

# Gantry's RSS is read again 2 s and 15 s after its idle connections closed (idle_conns.py
# closes them when it exits): jemalloc hands freed pages back to the OS over about 10 s.
for s in gantry:$p_gt_http:$gantry_pid nginx:$p_ng_http:$nginx_pid haproxy:$p_ha:$haproxy_pid; do
  IFS=: read -r name port pid <<<"$s"
  log "$idle_conns idle connections to $name"
  line=$("${load[@]}" python3 "$here/idle_conns.py" --port "$port" --count "$idle_conns" \
    --pids "$(echo "$pid" $(pgrep -P "$pid") | tr ' ' ,)")
  echo "conns_$name $line" >>"$work/res/conns.txt"
  if [[ $name == gantry ]]; then
    gantry_conns_closed=$(date +%s.%N)
    sleep 2
    echo "rss_gantry_after_conns_closed=$(rss "$gantry_pid")" >>"$work/res/misc.txt"
  else
    sleep 1
  fi
done
note_cmd "${load[@]}" python3 bench/compare/idle_conns.py --port PORT --count "$idle_conns" --pids SERVER_PIDS
# The rest of the 15 s (nginx's and HAProxy's idle runs took part of them); the seconds
# actually waited are recorded with the reading.
sleep "$(awk -v t="$gantry_conns_closed" -v now="$(date +%s.%N)" 'BEGIN {d = t + 15 - now; print (d > 0 ? d : 0)}')"
echo "rss_gantry_after_conns_closed_15s=$(rss "$gantry_pid")" \
  "after_conns_closed_15s_s=$(awk -v t="$gantry_conns_closed" -v now="$(date +%s.%N)" 'BEGIN {printf "%.1f", now - t}')" \
  >>"$work/res/misc.txt"

# --- (e) HTTPS, (f) h2 -------------------------------------------------------------

measure https-ka-gantry "$gantry_pid" "https://127.0.0.1:$p_gt_https/" "${H[@]}"
measure https-ka-nginx "$nginx_pid" "https://127.0.0.1:$p_ng_https/" "${H[@]}"
measure_h2 h2-tls-gantry "$gantry_pid" "https://127.0.0.1:$p_gt_https/" -H ":authority: bench.local"
measure_h2 h2-tls-nginx "$nginx_pid" "https://127.0.0.1:$p_ng_https/" -H ":authority: bench.local"
measure_h2 h2c-gantry "$gantry_pid" "http://127.0.0.1:$p_gt_http/" -H ":authority: bench.local"
measure_h2 h2c-nginx "$nginx_pid" "http://127.0.0.1:$p_ng_h2c/" -H ":authority: bench.local"
grpc_section

# --- (h) reload cost ----------------------------------------------------------------

applied() { grep -c "route table applied" "$1" || true; }
# reload_run NAME PID CONFIG_DIR LOG URL [wrk args]
reload_run() {
  local name=$1 pid=$2 dir=$3 logf=$4 url=$5
  shift 5
  local a0 a1 writes
  a0=$(applied "$logf")
  "${load[@]}" python3 "$here/gen_config.py" unrelated --out "$dir" --interval 0.1 \
    --duration "$((duration + warmup + 1))" >"$work/res/$name.writes" &
  local loop=$!
  measure "$name" "$pid" "$url" "$@"
  wait "$loop"
  sleep 1
  a1=$(applied "$logf")
  echo "$name writes=$(cat "$work/res/$name.writes") applied=$((a1 - a0)) seconds=$((duration + warmup + 1))" >>"$work/res/reload.txt"
  rm -f "$dir/ingresses/unrelated.yaml"
}
for r in 1 2; do
  measure "reload-off-r$r" "$gantry_pid" "http://127.0.0.1:$p_gt_http/" "${H[@]}"
  reload_run "reload-on-r$r" "$gantry_pid" "$gt_conf" "$work/gantry-base.log" "http://127.0.0.1:$p_gt_http/" "${H[@]}"
done
note_cmd "${load[@]}" python3 bench/compare/gen_config.py unrelated --out CONFIG_DIR --interval 0.1 --duration "$((duration + warmup + 1))" "# during the reload-on wrk runs"

# --- (e) new TLS handshakes -----------------------------------------------------------

measure https-close-gantry "$gantry_pid" "https://127.0.0.1:$p_gt_https/" "${H[@]}" -H "Connection: close"
measure https-close-nginx "$nginx_pid" "https://127.0.0.1:$p_ng_https/" "${H[@]}" -H "Connection: close"

# --- (g) route-table scale -------------------------------------------------------------

for layout in spread onehost; do
  for n in 10 1000 10000; do
    name=scale-$layout-$n
    dir=$work/$name
    read -r host path < <(python3 "$here/gen_config.py" scale --out "$dir" --backend "127.0.0.1:$p_backend" \
      --routes "$n" --layout "$layout")
    RUST_LOG=${RUST_LOG:-info} "${srv[@]}" "$gantry" serve --config "$dir" --http-port "$p_scale" \
      --https-port 0 --console-port 0 --metrics-port 0 --health-port 0 --access-log off --bind 127.0.0.1 >"$work/$name.log" 2>&1 &
    spid=$!
    pids+=("$spid")
    note_cmd RUST_LOG="${RUST_LOG:-info}" "${srv[@]}" gantry serve --config WORK/scale-LAYOUT-N --http-port "$p_scale" \
      --https-port 0 --console-port 0 --metrics-port 0 --health-port 0 --access-log off --bind 127.0.0.1
    t0=$(date +%s.%N)
    wait_ok "http://127.0.0.1:$p_scale$path" -H "Host: $host"
    t1=$(date +%s.%N)
    # The route must be the last one in match order.
    last=$("$gantry" routes --config "$dir" | grep -v '^\s*$' | tail -1)
    sleep 2
    echo "$name host=$host path=$path routes=$n start_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", (b - a) * 1000}') rss_idle=$(rss "$spid") last_route=${last// /_}" >>"$work/res/scale.txt"
    if [[ $n == 10000 ]]; then idle_cpu "${name//-/_}" "$spid" 5; fi
    measure "$name" "$spid" "http://127.0.0.1:$p_scale$path" -H "Host: $host"
    echo "$name rss_after=$(rss "$spid") hwm_after=$(hwm "$spid")" >>"$work/res/scale.txt"
    if [[ $name == scale-spread-10000 ]]; then
      reload_run reload-on-10k "$spid" "$dir" "$work/$name.log" "http://127.0.0.1:$p_scale$path" -H "Host: $host"
    fi
    stop "$spid"
    rm -rf "$dir"
  done
done
note_cmd python3 bench/compare/gen_config.py scale --out DIR --backend 127.0.0.1:PORT --routes N --layout 'spread|onehost'

# --- profile: instructions per request under callgrind ---------------------------------

# Each proxy runs under callgrind with instrumentation off during start-up; it is switched
# on just before a short wrk run and the profile dumped right after, so the dump holds the
# user-space instructions of those requests only (the kernel's share is not counted).
# callgrind_profile NAME URL CMD...
callgrind_profile() {
  local name=$1 url=$2
  shift 2
  log "callgrind $name"
  "${srv[@]}" valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$work/cg-$name.out" "$@" >"$work/cg-$name.log" 2>&1 &
  local vpid=$!
  pids+=("$vpid")
  wait_ok "$url" "${H[@]}" || { stop "$vpid"; return 0; }
  callgrind_control -i on "$vpid" >/dev/null
  "${load[@]}" wrk -t1 -c10 -d5s "${H[@]}" "$url" >"$work/raw/callgrind-$name.txt"
  callgrind_control -d "$vpid" >/dev/null
  callgrind_control -i off "$vpid" >/dev/null
  kill -INT "$vpid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
  stop "$vpid"
  local dump
  dump=$(ls "$work/cg-$name.out".* 2>/dev/null | head -1)
  [[ -n $dump ]] || return 0
  local ir requests
  ir=$(awk '/^summary:/ {print $2}' "$dump")
  requests=$(awk '/requests in/ {print $1}' "$work/raw/callgrind-$name.txt")
  echo "$name ir=$ir requests=$requests" >>"$work/res/callgrind.txt"
  callgrind_annotate --inclusive=no "$dump" 2>/dev/null | sed -n '/^Ir/,$p' | head -40 >"$work/res/callgrind-$name-self.txt" || true
  callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | sed -n '/^Ir/,$p' | head -70 >"$work/res/callgrind-$name-incl.txt" || true
}
if [[ $profile == 1 ]] && command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
  callgrind_profile gantry "http://127.0.0.1:$p_prof/" "$gantry" serve --config "$gt_conf" \
    --http-port "$p_prof" --https-port 0 --console-port 0 --metrics-port 0 --health-port 0 --access-log off --bind 127.0.0.1 --watch events
  fill nginx-proxy.conf.in "$p_prof" "$p_prof_tls" "$p_prof_h2c" "$work/nginx-prof.conf"
  sed -i -e 's|nginx-proxy\.pid|nginx-prof.pid|' -e 's|nginx-proxy-error\.log|nginx-prof-error.log|' "$work/nginx-prof.conf"
  callgrind_profile nginx "http://127.0.0.1:$p_prof/" nginx -p "$work" -c "$work/nginx-prof.conf" \
    -e "$work/nginx-prof-error.log" -g "master_process off;"
  fill haproxy.cfg.in "$p_prof" 0 0 "$work/haproxy-prof.cfg"
  callgrind_profile haproxy "http://127.0.0.1:$p_prof/" haproxy -db -f "$work/haproxy-prof.cfg"
  note_cmd "${srv[@]}" valgrind --tool=callgrind --instr-atstart=no PROXY... \
    "# then: callgrind_control -i on PID; ${load[*]} wrk -t1 -c10 -d5s ...; callgrind_control -d PID; callgrind_annotate"
fi

# --- report -----------------------------------------------------------------------------

finish
