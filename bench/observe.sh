#!/usr/bin/env bash
# What metrics scrapes and the access log cost the data plane: HTTP/1.1 keep-alive proxying
# through a release gantry to `gantry echo`, measured with wrk in rounds of four setups,
# interleaved so drift in the machine's load hits all alike:
#   off      --access-log off, no scrapes
#   scrape   --access-log off, /stats/prometheus scraped every 100 ms meanwhile
#   file     --access-log to a file, no scrapes
#   stdout   default (access log on stdout, redirected to a file)
# Prints a Markdown table (median req/s and gantry CPU per request per setup, each with its
# ratio to `off`), then the CPU one scrape costs, measured on its own (200 scrapes in a row
# after the load, from /proc), and what that is at Prometheus' default 15 s interval and at
# this bench's 100 ms; no assertion.
#
#   bench/observe.sh                    # 3 rounds of 10 s, 50 connections
#   ROUNDS=5 DURATION=5 bench/observe.sh
#
# Needs wrk and curl; GANTRY_BIN (default: $CARGO_TARGET_DIR/release/gantry).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
gantry=${GANTRY_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/gantry}
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
conns=${CONNS:-50}
work=$(mktemp -d -t gantry-observe-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

echo_port=$(free_port)
"$gantry" echo --port "$echo_port" >/dev/null 2>&1 &
pids+=($!)
wait_port "$echo_port"
conf=$work/conf
cp -r "$root/conf-samples/quickstart" "$conf"
sed -i "s/domain: httpbin.org/domain: 127.0.0.1/; s/port: 80/port: $echo_port/" "$conf/mcpbridges/default.yaml"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))

# run SETUP: one wrk run against a fresh gantry in that setup; prints "req/s cpu_us/request"
# (and, for `scrape`, appends "cpu_us/scrape bytes/scrape" to $work/scrape-cost).
run() {
  local setup=$1 http metrics args=() scraper=""
  http=$(free_port) metrics=$(free_port)
  case "$setup" in
    off|scrape) args=(--access-log off) ;;
    file) args=(--access-log "$work/access.log") ;;
    stdout) args=() ;;
  esac
  "$gantry" serve --config "$conf" --http-port "$http" --https-port 0 --console-port 0 \
    --metrics-port "$metrics" --health-port 0 --bind 127.0.0.1 "${args[@]}" \
    >"$work/stdout.log" 2>"$work/$setup.log" &
  local pid=$!
  wait_port "$http"
  wait_port "$metrics"
  curl -fsS -o /dev/null -H 'Host: foo.bar.com' "http://127.0.0.1:$http/get"
  if [ "$setup" = scrape ]; then
    (while :; do curl -fsS -o /dev/null "http://127.0.0.1:$metrics/stats/prometheus" || true; sleep 0.1; done) &
    scraper=$!
  fi
  local t0 t1 out
  t0=$(cpu_ticks "$pid")
  out=$(wrk -t1 -c"$conns" -d"${duration}s" -H 'Host: foo.bar.com' "http://127.0.0.1:$http/get")
  t1=$(cpu_ticks "$pid")
  [ -n "$scraper" ] && kill "$scraper" 2>/dev/null
  echo "$out" | awk -v t=$((t1 - t0)) -v us="$tick_us" \
    '/requests in/ {n=$1} /Requests\/sec/ {r=$2} END {printf "%s %.1f\n", r, t * us / n}'
  if [ "$setup" = scrape ]; then
    local bytes s0 s1
    bytes=$(curl -fsS "http://127.0.0.1:$metrics/stats/prometheus" | wc -c)
    s0=$(cpu_ticks "$pid")
    for _ in $(seq 200); do curl -fsS -o /dev/null "http://127.0.0.1:$metrics/stats/prometheus"; done
    s1=$(cpu_ticks "$pid")
    echo "$(( (s1 - s0) * tick_us / 200 )) $bytes" >>"$work/scrape-cost"
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$work/access.log" "$work/stdout.log"
}

declare -A results cpus
for _ in $(seq "$rounds"); do
  for setup in off scrape file stdout; do
    read -r rps cpu < <(run "$setup")
    results[$setup]+="$rps "
    cpus[$setup]+="$cpu "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${results[off]}" | median)
base_cpu=$(echo "${cpus[off]}" | median)
echo "| setup | req/s (median of $rounds × ${duration} s, $conns connections) | vs off | gantry CPU µs/request (median) | vs off |"
echo "|---|---|---|---|---|"
for setup in off scrape file stdout; do
  m=$(echo "${results[$setup]}" | median)
  c=$(echo "${cpus[$setup]}" | median)
  printf '| %s | %s | %s | %s | %s |\n' "$setup" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN {printf "%.3f", a/b}')" \
    "$c" "$(awk -v a="$c" -v b="$base_cpu" 'BEGIN {printf "%.3f", a/b}')"
done
echo
per_scrape=$(awk '{print $1}' "$work/scrape-cost" | median)
scrape_bytes=$(awk '{print $2}' "$work/scrape-cost" | median)
off_rps=$base
echo "One scrape of \`/stats/prometheus\` ($scrape_bytes bytes) costs $per_scrape µs of gantry CPU (median of $rounds × 200 scrapes)."
awk -v s="$per_scrape" -v r="$off_rps" -v c="$base_cpu" 'BEGIN {
  load = r * c  # µs of CPU per second the load costs at the off setup
  printf "Against the off setup'"'"'s CPU under load (%.0f ms/s): %.4f %% at a scrape every 15 s, %.3f %% at one every 100 ms.\n",
    load / 1000, 100 * s / 15 / load, 100 * s * 10 / load
}'
echo
for setup in off scrape file stdout; do echo "- $setup runs (req/s): ${results[$setup]}; CPU µs/request: ${cpus[$setup]}"; done
echo "- machine: $(nproc) CPUs, Linux $(uname -r), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
