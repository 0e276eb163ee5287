#!/usr/bin/env bash
# Builds gantry and gantry-bench in release mode, runs every benchmark (the
# gantry-bench driver and the criterion bench `route_match`), and rewrites
# docs/PERFORMANCE.md with the results; then bench/compare.sh adds the comparison with
# nginx and HAProxy to it.
#
#   bench/run.sh                       # 100 edits per mode, 20 starts
#   EDITS=20 RUNS=5 bench/run.sh       # quicker
#   POLL_INTERVAL=1s bench/run.sh      # poll mode interval (default 500ms)
#
# Honours CARGO_TARGET_DIR (default: ./target). Needs Linux (/proc) for RSS.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
export RUST_LOG=${RUST_LOG:-info}
edits=${EDITS:-100}
runs=${RUNS:-20}
poll_interval=${POLL_INTERVAL:-500ms}
out=${OUT:-$root/docs/PERFORMANCE.md}

cargo build --release -p gantry -p gantry-bench
cargo bench -p gantry-bench --bench route_match --no-run
bench="$CARGO_TARGET_DIR/release/gantry-bench"
load_at_start=$(cut -d" " -f1-3 /proc/loadavg)
export GANTRY_BIN="$CARGO_TARGET_DIR/release/gantry"

machine() {
  echo "- machine: $(nproc) CPUs, Linux $(uname -r), $(rustc --version)"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), gantry $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with local changes)')"
}

# section TITLE DESCRIPTION ARGS... : runs gantry-bench ARGS and prints a section.
section() {
  local title=$1 description=$2
  shift 2
  echo "running: gantry-bench $*" >&2
  local table
  table=$("$bench" "$@")
  cat <<SECTION

## $title

$description

$(machine)
- command: \`EDITS=$edits RUNS=$runs POLL_INTERVAL=$poll_interval bench/run.sh\`, which runs \`gantry-bench $*\` on the
  release build (\`cargo build --release -p gantry -p gantry-bench\`)

$table
SECTION
}

events=$(section "Change → effect latency: --watch events" \
  "Time from writing the quick-start Ingress (atomic rename, destination switched between two echo backends) until the gateway's answer comes from the new backend, over $edits edits." \
  edit-latency --watch events --edits "$edits")
poll=$(section "Change → effect latency: --watch poll" \
  "As above with \`--watch poll --poll-interval $poll_interval\`. Edits land at random points of the poll cycle, so expect p50 near half an interval and p99 near a full one." \
  edit-latency --watch poll --poll-interval "$poll_interval" --edits "$edits")
startup=$(section "Process start → first 200" \
  "Time from spawning \`gantry serve\` on the quick-start config until \`GET /get\` with \`Host: foo.bar.com\` is answered 200 by the echo backend, over $runs starts." \
  startup --runs "$runs")
rss=$(section "Idle memory" \
  "\`VmRSS\` and \`VmHWM\` from \`/proc/<pid>/status\` of \`gantry serve\` on the quick-start config." \
  rss --settle 2s)
scale=$(section "10,000 routes over 1,000 hosts: load, compile, memory" \
  "The config dir \`gantry-bench generate --out DIR\` writes: 1,000 Ingresses (\`ingresses/route-h0000.yaml\` …), one per host
(\`h0000.example.com\` …), each with 10 paths (5 \`Exact /v1/svc<j>/status\`, 5 \`Prefix /v1/svc<j>\`), all sent to one
\`static\` registry (an echo backend): 10,000 routes. First, in the driver process, $runs runs of
\`config_store::DirStore::load\` on the directory and of \`gateway::compile\` on the snapshot with a fresh \`Discovery\`
(as at start-up); then \`gantry serve\` on the same directory: spawn → first 200 from the last host, and \`VmRSS\` /
\`VmHWM\` after start and after 1,000 requests spread over every host. Goals: compile < 300 ms, RSS < 100 MB." \
  scale --runs "$runs")

console=$(section "Console API: write → served, list, memory" \
  "\`PUT /v1/routes/{name}\` with the version read, switching the route's service between two \`static\` echo backends, $edits times (served: PUT sent → first answer from the new backend); then \`GET /v1/routes\` with 1,000 more routes; \`VmRSS\` / \`VmHWM\` after each. \`bench/console.sh\` reruns only this section." \
  console --edits "$edits" --routes 1000 --lists 20)
nacos=$(section "Nacos store: publish → served, load, memory" \
  "Gantry on \`--config nacos://…\` against rnacos 0.8.8 on loopback: $edits changes published through rnacos's HTTP API and served by push (p99 goal < 200 ms); \`NacosStore::load\` of 1,000 resources and \`gantry serve\` spawn → first 200 on them, $runs runs; gateway memory with the Nacos client connected. Needs rnacos (\$RNACOS_BIN or ~/.cache/gantry/rnacos/bin/rnacos, see tests/run.sh)." \
  nacos --changes "$edits" --resources 1000 --runs "$runs")
nacos_instances=$(section "Nacos service discovery: instance change → effect" \
  "A route to \`echo.DEFAULT-GROUP.public.nacos\` (McpBridge \`nacos2\` registry on rnacos 0.8.8, loopback); instance \`two\` registered and deregistered through the naming HTTP API $edits times beside a steady instance \`one\`: registration → first request answered by \`two\`, deregistration → 20 requests in a row answered by \`one\` (none failed). rnacos delays naming pushes by design, so this is mostly the server's notify delay." \
  nacos-instances --changes "$edits")

echo "running: bench/observe.sh" >&2
observe=$(cat <<SECTION

## Metrics scrapes and the access log: throughput

HTTP/1.1 keep-alive GETs (wrk, 50 connections, one thread) through \`gantry serve\` to \`gantry echo\`, four setups
interleaved round by round: \`off\` (\`--access-log off\`), \`scrape\` (the same, \`/stats/prometheus\` scraped every
100 ms meanwhile), \`file\` (access log to a file), \`stdout\` (the default, stdout redirected to a file). Metrics
are always counted; the goal is a scrape under load costing < 1 % of throughput.

$(machine)
- command: \`bench/observe.sh\` (part of \`bench/run.sh\`)

$(GANTRY_BIN="$CARGO_TARGET_DIR/release/gantry" "$root/bench/observe.sh")
SECTION
)

# The criterion bench prints its own report on stdout (sent to stderr here) and
# writes the Markdown table to $ROUTE_MATCH_TABLE.
echo "running: cargo bench -p gantry-bench --bench route_match" >&2
match_table=$(mktemp)
ROUTE_MATCH_TABLE=$match_table cargo bench -p gantry-bench --bench route_match >&2
route_match=$(cat <<SECTION

## 10,000 routes over 1,000 hosts: route match

\`RouteTable::find_id(host, &RequestHeader)\` on the table compiled from the config above, in process, with prebuilt
request headers, so only the match is timed (the host is already normalised). Criterion gives the median and mean
per lookup. The p50, p99 and max come from 20,000 batches of 100 lookups, each batch timed with \`Instant\` and
divided by 100: they are percentiles of batch means (one lookup is too short to time alone). The last route of a
host is the one a lookup reaches after every other route of that host. Goal: < 1 µs p50 for a hit near the end
of the table.

$(machine)
- command: \`EDITS=$edits RUNS=$runs POLL_INTERVAL=$poll_interval bench/run.sh\`, which runs
  \`cargo bench -p gantry-bench --bench route_match\` (\`bench/benches/route_match.rs\`, bench profile = release)

$(cat "$match_table")
SECTION
)
rm -f "$match_table"

tmp=$(mktemp "$out.XXXXXX")
cat >"$tmp" <<DOC
# Performance

Generated by \`bench/run.sh\`; do not edit by hand. The gateway runs with \`--bind 127.0.0.1 --https-port 0\`,
the admin API on (as by default, on a free port), text logs at \`RUST_LOG=$RUST_LOG\`, and echo backends in
the driver process on loopback. Latencies are measured by the driver, so they include one HTTP round trip
through the gateway (well under a millisecond on loopback); the route-match figures are the exception, timed
in process by a criterion bench. Other load on the machine shows in the
numbers: the 1-, 5- and 15-minute load averages just after the release build were $load_at_start.
$events
$poll
$startup
$rss
$scale
$console
$route_match
$nacos
$nacos_instances
$observe
DOC
mv "$tmp" "$out"
echo "wrote $out" >&2

# Gantry next to nginx and HAProxy (installs them if missing); appends its own section.
GANTRY_BIN="$CARGO_TARGET_DIR/release/gantry" OUT="$out" "$root/bench/compare.sh"

# Wasm plugin costs (transformer on a route vs not, load times, RSS); its own section.
GANTRY_BIN="$CARGO_TARGET_DIR/release/gantry" OUT="$out" "$root/bench/wasm.sh"
