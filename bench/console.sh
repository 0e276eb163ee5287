#!/usr/bin/env bash
# Runs the console API benchmark (gantry-bench console) on the release build and writes its
# section of docs/PERFORMANCE.md (replacing the previous one; bench/run.sh writes it too).
#
#   bench/console.sh                  # 100 edits, 1,000 routes, 20 lists
#   EDITS=20 bench/console.sh         # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
export RUST_LOG=${RUST_LOG:-info}
edits=${EDITS:-100}
out=${OUT:-$root/docs/PERFORMANCE.md}

cargo build --release -p gantry -p gantry-bench
export GANTRY_BIN="$CARGO_TARGET_DIR/release/gantry"
load=$(cut -d" " -f1-3 /proc/loadavg)
table=$("$CARGO_TARGET_DIR/release/gantry-bench" console --edits "$edits" --routes 1000 --lists 20)
section=$(cat <<SECTION
## Console API: write → served, list, memory

\`PUT /v1/routes/{name}\` with the version read, switching the route's service between two
\`static\` echo backends, $edits times; "served" is from sending the PUT until a request through the
gateway is answered by the new backend (the PUT answers once the gateway has applied the change,
so the first request after it normally is). Then 1,000 more Ingress files are written to the
directory and \`GET /v1/routes\` (all of them, no paging) is timed 20 times. \`VmRSS\` / \`VmHWM\`
of \`gantry serve\` after each part. Session cookie auth; client and backends in the driver
process on loopback.

- machine: $(nproc) CPUs, Linux $(uname -r), $(rustc --version); load averages before: $load
- date: $(date -u '+%Y-%m-%d %H:%M UTC'), gantry $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
- command: \`EDITS=$edits bench/console.sh\` (\`gantry-bench console --edits $edits --routes 1000 --lists 20\` on the release build)

$table
SECTION
)
python3 - "$out" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
title = "## Console API: write → served, list, memory"
if title in text:
    start = text.index(title)
    nxt = re.search(r"^## ", text[start + len(title):], re.M)
    end = start + len(title) + nxt.start() if nxt else len(text)
    text = text[:start] + section.strip() + "\n\n" + text[end:].lstrip("\n")
else:
    # Before bench/compare.sh's section (it rewrites everything between its markers).
    marker = "\n<!-- bench/compare.sh: begin -->"
    if marker not in text:
        marker = "\n## Comparison with nginx and HAProxy"
    if marker in text:
        i = text.index(marker)
        text = text[:i] + "\n" + section.strip() + "\n" + text[i:]
    else:
        text = text.rstrip("\n") + "\n\n" + section.strip() + "\n"
open(path, "w").write(text)
PY
echo "wrote the console section of $out" >&2
