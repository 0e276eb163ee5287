#!/usr/bin/env bash
# Fuzzes the console API from its own OpenAPI document with schemathesis (from PyPI, in a
# cached venv under ~/.cache/gantry/): no 5xx, no crash, and no change to the config
# directory from a rejected (4xx) request. Bounded in time. The 501 prefixes (features not
# served yet) and /user/changePassword (it would lock the fuzzer out) are skipped.
# Usage: tests/console_fuzz.sh [SECONDS]     (needs GANTRY_BIN or a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-60}"
bin="${GANTRY_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/gantry-target}/debug/gantry}"
venv="$HOME/.cache/gantry/schemathesis-venv"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==4.*"
fi

config="$(mktemp -d)"
log="$(mktemp)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
password="fuzz-$(date +%s)-pw"
"$bin" serve --config "$config" --bind 127.0.0.1 --http-port 0 --https-port 0 \
  --console-port "$port" --console-password "$password" --watch events >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$config" "$log"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
# Something to find: a service source and a route.
auth=(-u "admin:$password" -H 'content-type: application/json')
curl -fsS "${auth[@]}" -X POST "http://127.0.0.1:$port/v1/service-sources" \
  -d '{"name":"echo","type":"static","domain":"127.0.0.1:9"}' >/dev/null
curl -fsS "${auth[@]}" -X POST "http://127.0.0.1:$port/v1/routes" \
  -d '{"name":"x","path":{"matchType":"PRE","matchValue":"/"},"services":[{"name":"echo.static","port":80}]}' >/dev/null

export GANTRY_FUZZ_CONFIG="$config" SCHEMATHESIS_HOOKS=console_fuzz_hooks PYTHONPATH="$PWD/tests"
status=0
# schemathesis keeps its cache in the working directory: run it from a scratch one.
work="$(mktemp -d)"
trap 'cleanup; rm -rf "$work"' EXIT
(cd "$work" && "$venv/bin/st" run "http://127.0.0.1:$port/v3/api-docs" \
  --auth "admin:$password" --workers 1 --max-time "$budget" --request-timeout 15 \
  --checks not_a_server_error,rejected_request_changes_nothing \
  --exclude-path /user/changePassword \
  --exclude-path-regex '^/(v1/(consumers|ai/|mcpServer|proxy-servers)|dashboard|grafana|aiproxy)') \
  || status=$?
if ! kill -0 "$pid" 2>/dev/null; then
  echo "gantry exited during the fuzz run:"; cat "$log"; exit 1
fi
exit "$status"
