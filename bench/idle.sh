#!/usr/bin/env bash
# Memory per idle HTTP/1.1 keep-alive connection: gantry's RSS before and after COUNT
# connections that each made one proxied request and then sit idle (bench/compare/idle_conns.py),
# one static route to an nginx backend on loopback. The quick mode of the figure that
# bench/compare.sh measures beside nginx and HAProxy, and its regression guard.
#
#   bench/idle.sh                              # release build of this tree, report only
#   GANTRY_BIN=path/to/gantry bench/idle.sh    # that binary (release or debug)
#   MAX_IDLE_KIB=N bench/idle.sh               # the regression guard: exit 1 above N KiB
#
# Environment: GANTRY_BIN, COUNT (connections, default 5000), MAX_IDLE_KIB, KEEP_WORK=1
# keeps the temp dir. Needs nginx, openssl and curl (bench/profile.sh installs them).
# tests/run.sh runs the guard with a debug build; about 15 s.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
count=${COUNT:-5000}

log() { echo "idle: $*" >&2; }
die() { log "$*"; exit 2; }

for tool in nginx openssl curl python3; do
  command -v "$tool" >/dev/null || die "needs $tool (bench/profile.sh installs it)"
done

gantry=${GANTRY_BIN:-}
if [[ -z $gantry ]]; then
  cargo build --release -q -p gantry
  gantry=$CARGO_TARGET_DIR/release/gantry
fi
[[ -x $gantry ]] || die "no gantry binary at $gantry"

work=$(mktemp -d /tmp/gantry-idle.XXXX)
pids=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

read -r p_backend p_gantry < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

mkdir -p "$work/nginx-backend-tmp"
sed -e "s|@WORK@|$work|g" -e "s|@BACKEND_PORT@|$p_backend|g" \
  bench/compare/nginx-backend.conf.in >"$work/nginx-backend.conf"
nginx -p "$work" -c "$work/nginx-backend.conf" -e "$work/nginx-backend-error.log" &
pids+=($!)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench.local \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
python3 bench/compare/gen_config.py base --out "$work/conf" --backend "127.0.0.1:$p_backend" \
  --cert "$work/cert.pem" --key "$work/key.pem" >/dev/null

RUST_LOG=warn "$gantry" serve --config "$work/conf" --http-port "$p_gantry" --https-port 0 \
  --console-port 0 --metrics-port 0 --health-port 0 --access-log off --bind 127.0.0.1 \
  --watch events >"$work/gantry.log" 2>&1 &
gpid=$!
pids+=("$gpid")

url=http://127.0.0.1:$p_gantry/
ok=0
for _ in $(seq 300); do
  if curl -fs -o /dev/null -H 'Host: bench.local' "$url"; then ok=1; break; fi
  kill -0 "$gpid" 2>/dev/null || break
  sleep 0.1
done
((ok)) || { tail -20 "$work/gantry.log" >&2; die "gantry never answered 200 on $url"; }
# Warm-up: upstream connections, lazy statics, allocator caches.
for _ in $(seq 50); do curl -fs -o /dev/null -H 'Host: bench.local' "$url"; done

line=$(python3 bench/compare/idle_conns.py --port "$p_gantry" --count "$count" --pids "$gpid")
echo "$line" >"$work/idle.txt"
python3 - "$line" "$count" "${MAX_IDLE_KIB:-}" <<'EOF'
import sys
fields = dict(kv.split("=") for kv in sys.argv[1].split())
count, max_kib = int(sys.argv[2]), sys.argv[3]
opened, ok = int(fields["opened"]), int(fields["ok"])
if opened < count or ok < count:
    sys.exit(f"FAIL: {opened} of {count} connections open, {ok} answered 200")
per = (int(fields["rss_after_kib"]) - int(fields["rss_before_kib"])) / count
print(f"idle keep-alive connections: {count}")
print(f"RSS before / while open:     {fields['rss_before_kib']} / {fields['rss_after_kib']} KiB")
print(f"memory per idle connection:  {per:.1f} KiB")
if max_kib and per > float(max_kib):
    print(f"FAIL: {per:.1f} KiB per idle connection, guard is {max_kib}")
    sys.exit(1)
EOF
