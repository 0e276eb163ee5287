#!/usr/bin/env bash
# Per-request cost of Gantry's HTTP/1.1 proxy path, counted by callgrind: user-space
# instructions and heap allocations (calls into the allocator) per proxied bodiless
# keep-alive request, one static route to an nginx backend on loopback. Counts, not
# seconds: repeatable whatever else the machine does.
#
#   bench/profile.sh                            # release build of this tree, report only
#   GANTRY_BIN=path/to/gantry bench/profile.sh  # that binary (release or debug)
#   MAX_ALLOCS=N bench/profile.sh               # the regression guard: exit 1 above N
#   TOP=30 bench/profile.sh                     # also print the 30 costliest functions
#
# Environment: GANTRY_BIN, DURATION (s of measured load, default 5), CONNS (default 10),
# MAX_ALLOCS, MAX_INSTRUCTIONS, TOP (default 0), KEEP_WORK=1 keeps the temp dir.
# Needs valgrind (callgrind_control), nginx, wrk, openssl and curl; installs what is
# missing from Debian's packages. tests/run.sh runs the guard with a debug build.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
duration=${DURATION:-5}
conns=${CONNS:-10}
top=${TOP:-0}

log() { echo "profile: $*" >&2; }
die() { log "$*"; exit 2; }

need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  sudo_=()
  [[ $(id -u) == 0 ]] || sudo_=(sudo)
  # policy-rc.d keeps Debian from starting nginx's system service.
  printf '#!/bin/sh\nexit 101\n' | "${sudo_[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo_[@]}" chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get install -y -qq "${need[@]}" >/dev/null ||
    { "${sudo_[@]}" apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get install -y -qq "${need[@]}" >/dev/null; }
  "${sudo_[@]}" rm -f /usr/sbin/policy-rc.d
fi

gantry=${GANTRY_BIN:-}
if [[ -z $gantry ]]; then
  cargo build --release -q -p gantry
  gantry=$CARGO_TARGET_DIR/release/gantry
fi
[[ -x $gantry ]] || die "no gantry binary at $gantry"

work=$(mktemp -d /tmp/gantry-profile.XXXX)
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

RUST_LOG=warn valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.out" \
  "$gantry" serve --config "$work/conf" --http-port "$p_gantry" --https-port 0 --console-port 0 \
  --metrics-port 0 --health-port 0 --access-log off --bind 127.0.0.1 --watch events \
  >"$work/gantry.log" 2>&1 &
vpid=$!
pids+=("$vpid")

url=http://127.0.0.1:$p_gantry/
ok=0
for _ in $(seq 600); do
  if curl -fs -o /dev/null -H 'Host: bench.local' "$url"; then ok=1; break; fi
  kill -0 "$vpid" 2>/dev/null || break
  sleep 0.2
done
((ok)) || { tail -20 "$work/gantry.log" >&2; die "gantry never answered 200 on $url"; }

# Warm-up outside the measurement: upstream connections, lazy statics, allocator caches.
wrk -t1 -c"$conns" -d2s -H 'Host: bench.local' "$url" >/dev/null
callgrind_control -i on "$vpid" >/dev/null
# First the same time without load: what the process allocates in the background (timers,
# threads) is subtracted, so the figure does not depend on how many requests fit the time.
sleep "$duration"
callgrind_control -d "$vpid" >/dev/null
wrk -t1 -c"$conns" -d"${duration}s" -H 'Host: bench.local' "$url" >"$work/wrk.txt"
callgrind_control -d "$vpid" >/dev/null
callgrind_control -i off "$vpid" >/dev/null
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
[[ -z $non2xx ]] || die "wrk saw $non2xx non-2xx responses"
[[ ${requests:-0} -gt 0 ]] || die "no requests completed"

idle_dump=$work/cg.out.1
dump=$work/cg.out.2
[[ -f $idle_dump && -f $dump ]] || die "callgrind wrote no dumps"

rc=0
TOP=$top python3 - "$dump" "$requests" "${MAX_ALLOCS:-}" "${MAX_INSTRUCTIONS:-}" "$idle_dump" <<'EOF' || rc=$?
import os, re, sys
top = int(os.environ.get("TOP", "0"))

dump, requests = sys.argv[1], int(sys.argv[2])
max_allocs = int(sys.argv[3]) if sys.argv[3] else None
max_ir = int(sys.argv[4]) if sys.argv[4] else None
# The allocator's public entry points: jemalloc (Gantry's global allocator, prefixed
# _rjem_) and the C library's, for C code that allocates on its own.
ALLOC = {"_rjem_malloc", "_rjem_mallocx", "_rjem_calloc", "malloc", "calloc"}
REALLOC = {"_rjem_realloc", "_rjem_rallocx", "realloc"}

def read(path):
    """Total instructions and the call graph (callee -> {caller: calls}) of one dump."""
    names, edges = {}, {}
    total, fn, cfn = 0, None, None

    def name_of(spec):
        m = re.match(r"\((\d+)\)(?: (.*))?", spec)
        if not m:
            return spec
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:"):
                total = int(line.split()[1])
            elif line.startswith("fn="):
                fn = name_of(line[3:].strip())
            elif line.startswith("cfn="):
                cfn = name_of(line[4:].strip())
            elif line.startswith("calls=") and cfn is not None:
                n = int(line[6:].split()[0])
                e = edges.setdefault(cfn, {})
                e[fn] = e.get(fn, 0) + n
    return total, edges

def count(edges, entries):
    return sum(sum(edges.get(a, {}).values()) for a in entries)

total, edges = read(dump)
idle_total, idle_edges = read(sys.argv[5])
callers = {}

allocs = count(edges, ALLOC) - count(idle_edges, ALLOC)
reallocs = count(edges, REALLOC) - count(idle_edges, REALLOC)
total -= idle_total
print(f"requests profiled:        {requests}")
print(f"instructions / request:   {total / requests:,.0f}")
print(f"allocations / request:    {allocs / requests:.1f}")
print(f"reallocations / request:  {reallocs / requests:.1f}")
print(f"background, subtracted:   {count(idle_edges, ALLOC)} allocations in the same time without load")
# Allocation sites: each allocator call is charged to the first caller up the call graph
# that is not allocation plumbing (Vec/String/Box/hash map growth, the global allocator),
# split among a wrapper's callers in proportion to their calls.
WRAPPER = re.compile(r"^(<?alloc::|<?core::alloc|<?tikv_jemalloc|__rust|<?hashbrown::raw|"
                     r"<?alloc::raw_vec|<?std::alloc|_rjem_|malloc$|calloc$|realloc$|"
                     r"<alloc::(vec|string|boxed|sync|rc|collections)|<T as alloc::|"
                     r"<?bytes::bytes::|<bytes::bytes::Bytes as core::convert::From|"
                     r"<?bytes::bytes_mut::BytesMut>::(reserve|with_capacity|from)|"
                     r"core::iter::traits::iterator::Iterator::collect|<\w+ as core::iter::traits::collect::FromIterator)")
def charge(f, amount, depth=0):
    if depth < 30 and WRAPPER.match(f or "") and edges.get(f):
        up = edges[f]
        tot = sum(up.values())
        for c, n in up.items():
            if c != f:
                charge(c, amount * n / tot, depth + 1)
    else:
        callers[f] = callers.get(f, 0) + amount
for a in ALLOC | REALLOC:
    for c, n in edges.get(a, {}).items():
        charge(c, n)
if top:
    print(f"\nallocation sites (first caller outside allocation plumbing), per request:")
    for f, n in sorted(callers.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {n / requests:6.2f}  {f}")
failed = False
if max_allocs is not None and allocs / requests > max_allocs:
    print(f"FAIL: {allocs / requests:.1f} allocations per request, guard is {max_allocs}")
    failed = True
if max_ir is not None and total / requests > max_ir:
    print(f"FAIL: {total / requests:,.0f} instructions per request, guard is {max_ir:,}")
    failed = True
sys.exit(1 if failed else 0)
EOF
if ((top > 0)); then
  echo
  callgrind_annotate --inclusive=no "$dump" 2>/dev/null | sed -n '/^Ir/,$p' | head -$((top + 6)) || true
fi
exit $rc
