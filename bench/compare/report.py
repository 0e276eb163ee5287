#!/usr/bin/env python3
"""Turns the raw outputs bench/compare.sh left in WORK into the Markdown section of
docs/PERFORMANCE.md (printed on stdout).

  report.py WORK
"""
import os
import re
import statistics
import sys

WORK = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))


# --- reading -------------------------------------------------------------------

def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return default


def kv_file(path):
    out = {}
    for line in read(path).splitlines():
        for m in re.finditer(r"(\w+)=(\S+)", line):
            out[m.group(1)] = m.group(2)
    return out


def facts():
    out = {}
    for line in read(os.path.join(WORK, "res/facts.txt")).splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def prefixed_lines(path):
    """Lines "NAME k=v k=v" → {NAME: {k: v}} (later lines add keys)."""
    out = {}
    for line in read(path).splitlines():
        name, _, rest = line.partition(" ")
        d = out.setdefault(name, {})
        for m in re.finditer(r"(\w+)=(\S+)", rest):
            d[m.group(1)] = m.group(2)
    return out


UNIT = {"us": 1.0, "ms": 1000.0, "s": 1e6}


def run(name):
    """Parsed wrk or h2load output of run NAME, or None."""
    text = read(os.path.join(WORK, "raw", name + ".txt"))
    if not text:
        return None
    r = {"raw": text}
    cpu = kv_file(os.path.join(WORK, "raw", name + ".cpu"))
    m = re.search(r"^COMPARE (.*)$", text, re.M)
    if m:  # wrk with pct.lua
        d = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}
        r["requests"] = d["requests"]
        r["rps"] = d["requests"] / (d["duration_us"] / 1e6)
        for k in ("p50", "p90", "p99", "p999"):
            r[k] = d[k + "_us"]
        r["max"] = d["max_us"]
        r["errors"] = sum(v for k, v in d.items() if k.startswith("err_"))
        r["status_errors"] = d["err_status"]
    else:  # h2load
        m = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", text)
        r["rps"] = float(m.group(2))
        m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                      r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
        r["requests"] = int(m.group(4))
        r["errors"] = int(m.group(5)) + int(m.group(6)) + int(m.group(7))
        m = re.search(r"status codes: (\d+) 2xx", text)
        r["status_errors"] = r["requests"] - int(m.group(1)) if m else 0
        m = re.search(r"time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+"
                      r"([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", text)
        if m:
            g = m.groups()
            r["min"] = float(g[0]) * UNIT[g[1]]
            r["max"] = float(g[2]) * UNIT[g[3]]
            r["mean"] = float(g[4]) * UNIT[g[5]]
            r["sd"] = float(g[6]) * UNIT[g[7]]
    if cpu and r.get("requests"):
        tck = int(cpu["clk_tck"])
        r["cpu100k"] = int(cpu["proxy_ticks"]) / tck / r["requests"] * 1e5
        r["bcpu100k"] = int(cpu["backend_ticks"]) / tck / r["requests"] * 1e5
        r["cpu_s"] = int(cpu["proxy_ticks"]) / tck
    for k in ("backend_conns", "backend_open", "cpu0_busy", "cpu1_busy", "cpu0_steal", "cpu1_steal"):
        if k in cpu:
            r[k] = int(cpu[k])
    return r


def busy(r):
    if r is None or "cpu0_busy" not in r:
        return "–"
    out = f"{r['cpu0_busy']} / {r.get('cpu1_busy', '–')} %"
    steal = max(r.get("cpu0_steal", 0), r.get("cpu1_steal", 0))
    if steal:
        out += f" (steal {r.get('cpu0_steal', 0)} / {r.get('cpu1_steal', 0)} %)"
    return out


def mean_runs(names):
    """Median of several runs of one target (per-run values kept in 'each')."""
    runs = [r for r in (run(n) for n in names) if r]
    if not runs:
        return None
    out = {"each": runs, "raw": None}
    for k in ("rps", "p50", "p90", "p99", "p999", "max", "cpu100k", "bcpu100k", "requests",
              "errors", "status_errors", "backend_conns", "cpu0_busy", "cpu1_busy", "cpu0_steal",
              "cpu1_steal"):
        vals = [r[k] for r in runs if k in r]
        if vals:
            out[k] = statistics.median(vals) if k not in ("errors", "status_errors") else sum(vals)
            if k in ("cpu0_busy", "cpu1_busy", "cpu0_steal", "cpu1_steal", "backend_conns"):
                out[k] = round(out[k])
    return out


# --- formatting ------------------------------------------------------------------

def lat(us):
    if us is None:
        return "–"
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.0f} µs"


def num(x, digits=0):
    return "–" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return "–" if not a or not b else f"{a / b:.2f}×"


def kib(k):
    return "–" if k is None else f"{int(k) / 1024:.1f} MiB"


def short_paths(text):
    """callgrind_annotate lines with the long source paths cut down."""
    text = re.sub(r"/root/\.cargo/registry/src/[^/]+/", "", text)
    text = re.sub(r"/rustc/[0-9a-f]+/library/", "std:", text)
    text = re.sub(r"\[/tmp/gantry-compare\.[^/]+/gantry\]", "[gantry]", text)
    return re.sub(r"\./[a-z]+/(\.\./sysdeps/[^:]*|\./[a-z]+/[^:]*):", "glibc:", text)


def g(d, k):
    return None if d is None else d.get(k)


F = facts()
rounds = int(F.get("rounds", "1"))
out = []
w = out.append


# --- (f) gRPC unary --------------------------------------------------------------------------

def grpc_section():
    grpc = {t: run(f"grpc-{t}") for t in ("direct", "gantry", "nginx", "haproxy")}
    checks = prefixed_lines(os.path.join(WORK, "res/grpc.txt"))
    body = os.path.join(WORK, "grpc-body.bin")
    size = f"{os.path.getsize(body)}-byte " if os.path.exists(body) else ""
    w("### gRPC unary (h2c)")
    w("")
    w("A gRPC backend in place of the nginx one: the echo server of the end-to-end tests (`gantry-bench")
    w("grpc-echo`, i.e. `GrpcServer` from `tests/support/grpc.rs`: the `h2` crate on one thread with a")
    w("current-thread runtime, pinned to CPU 0 with the proxies), method `/gantry.test.Echo/Unary`, which")
    w("answers headers, one message and `grpc-status: 0` trailers. h2load sends every request as a POST of the")
    w(f"same {size}framed message (`gantry-bench grpc-body`) with `content-type: application/grpc` and")
    w(f"`te: trailers`, {F.get('conns')} connections × {F.get('h2_streams')} concurrent streams, h2c with prior")
    w("knowledge on both hops. Each proxy is an instance of its own: Gantry with an Ingress annotated")
    w("`higress.io/backend-protocol: GRPC`; nginx with `listen … http2` and `grpc_pass` to an `upstream`")
    w("with `keepalive 512` (nginx sends one request at a time per upstream connection); HAProxy with")
    w("`proto h2` on the `bind` and the `server`, `http-reuse always`. Before its run each target answered a")
    w("unary call with `grpc-status: 0` and the echoed text (`gantry-bench grpc-call`); h2load itself sees")
    w("only HTTP statuses, which are 200 for gRPC errors too. *backend conns open*: connections established")
    w("at the backend's port halfway through the timed run (`ss`). h2load gives mean/sd/max, not percentiles.")
    w("")
    w("| target | requests/s | mean | sd | max | proxy CPU s / 100k req | backend CPU s / 100k req | backend conns open | CPU 0 / CPU 1 busy | req/s vs nginx | mean vs nginx |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ngx = grpc["nginx"]
    for t, label in (("direct", "backend direct (baseline)"), ("gantry", "Gantry → backend"),
                     ("nginx", "nginx → backend"), ("haproxy", "HAProxy → backend")):
        r = grpc[t]
        if not r:
            if not checks:
                why = "not measured"
            elif f"grpc-{t}" in checks:
                why = "failed"
            else:
                why = "failed (no grpc-status 0 before the run)"
            w(f"| {label} | {why} | | | | | | | | | |")
            continue
        extra = f" ({r['errors']} errors)" if r.get("errors") else ""
        if r.get("status_errors"):
            extra += f" ({r['status_errors']} non-2xx)"
        proxy_cpu = "–" if t == "direct" else num(r.get("cpu100k"), 2)
        w(f"| {label} | {num(r['rps'])}{extra} | {lat(r.get('mean'))} | {lat(r.get('sd'))} |"
          f" {lat(r.get('max'))} | {proxy_cpu} | {num(r.get('bcpu100k'), 2)} | {num(r.get('backend_open'))} |"
          f" {busy(r)} | {ratio(r['rps'], g(ngx, 'rps'))} | {ratio(r.get('mean'), g(ngx, 'mean'))} |")
    w("")

# --- commands, raw outputs ---------------------------------------------------------------------

def commands_and_raw():
    w("<details><summary>Commands</summary>")
    w("")
    w("Ports are free loopback ports picked at run time; `WORK` is the run's temp dir.")
    w("")
    w("```sh")
    w(read(os.path.join(WORK, "res/commands.txt")).strip())
    w("```")
    w("")
    w("Responses (headers) of the three proxies:")
    w("")
    w("```")
    for t in ("gantry", "nginx", "haproxy"):
        w(f"{t}: " + F.get(f"{t}_response", "").replace("|", "\n    ").rstrip())
    w("```")
    w("")
    w("</details>")
    w("")
    w("<details><summary>Raw wrk / h2load outputs</summary>")
    w("")
    names = sorted(f[:-4] for f in os.listdir(os.path.join(WORK, "raw")) if f.endswith(".txt"))
    order = ["http-", "https-ka", "h2", "grpc", "reload", "https-close", "scale", "callgrind"]
    names.sort(key=lambda n: (next((i for i, p in enumerate(order) if n.startswith(p)), 99), n))
    for n in names:
        w(f"`{n}`")
        w("")
        w("```")
        w(read(os.path.join(WORK, "raw", n + ".txt")).rstrip())
        cpu = read(os.path.join(WORK, "raw", n + ".cpu")).strip()
        if cpu:
            w(cpu)
        w("```")
        w("")
    w("</details>")


# --- header ---------------------------------------------------------------------

w("## Comparison with nginx and HAProxy")
w("")
w("Generated by `bench/compare.sh` (run last by `bench/run.sh`). Everything runs on this machine over")
w("127.0.0.1 in one run: an nginx **backend** that answers `return 200 \"ok\\n\"` (3-byte body, access log")
w("off), and in front of it **Gantry** (Ingress `bench.local` → McpBridge `static` registry → backend),")
w("**nginx** as a reverse proxy (`proxy_pass` to an `upstream` with `keepalive 512`, HTTP/1.1 upstream)")
w("and **HAProxy** (`mode http`, `option http-keep-alive`, `http-reuse always`). Each server has one")
w("worker: nginx `worker_processes 1`, HAProxy `nbthread 1`, and Gantry sizes its Pingora worker pool")
w(f"from the CPUs it may run on, so pinned to one CPU it has one ({F.get('gantry_threads', '?')} threads in")
w("all, counting the control plane's). Access logging is off everywhere (Gantry logs no requests; it")
w("runs with `RUST_LOG=info` and its default `--watch auto`). nginx and the backend allow 1,000,000")
w("requests per keep-alive connection so that no proxy has to reconnect mid-run. Config templates:")
w("`bench/compare/`. Every request carries `Host: bench.local`.")
w("")
w(f"- machine: {F.get('cpus')} CPUs ({F.get('cpu_model')}), {F.get('mem_total')}, Linux {F.get('kernel')};"
  f" {F.get('pinning')}. With two CPUs the backend shares CPU 0 with the proxy under test, so a")
w("  proxy's requests/s also pay for the backend's work; the *proxy CPU per 100k requests* column is the")
w("  proxy's own cost (utime + stime from `/proc/<pid>/stat`, master and workers summed, over the timed")
w("  run only).")
w(f"- date: {F.get('date')}; gantry {F.get('gantry_rev')} (`{F.get('gantry_version')}`,"
  f" binary sha256 `{F.get('gantry_sha256', '?')[:12]}`)")
w(f"- {F.get('nginx_version')}; {F.get('haproxy_version')}; {F.get('wrk_version')};"
  f" {F.get('h2load_version')}; {F.get('openssl_version')}")
w(f"- load: wrk `-t1 -c{F.get('conns')} -d{F.get('duration')}s` after a {F.get('warmup')} s warm-up run"
  f" at the same settings; h2load `-t1 -c{F.get('conns')} -m{F.get('h2_streams')} -D {F.get('duration')}`"
  f" after a {F.get('warmup')} s one. Percentiles come from wrk's HdrHistogram")
w("  (`bench/compare/pct.lua`), so they share wrk's coordinated-omission caveat.")
w(f"- load averages (1, 5, 15 min) before the run: {F.get('load_before')}; after: {F.get('load_after')};"
  f" runtime {F.get('runtime_s')} s. Before measuring, the script waits for both CPUs to be idle"
  f" ({F.get('quiet', '?').strip()}); other work on the machine (builds, tests) still shows in these numbers,"
  " see the *CPU busy* columns.")
w("")

if F.get("only") == "grpc":
    w("Only the gRPC runs (`ONLY=grpc`): not a full comparison.")
    w("")
    grpc_section()
    commands_and_raw()
    print("\n".join(out))
    sys.exit(0)

# --- (a)-(d) ---------------------------------------------------------------------

http = {t: mean_runs([f"http-{t}-r{i}" for i in range(1, rounds + 1)])
        for t in ("direct", "gantry", "nginx", "haproxy")}
ng = http["nginx"]
w("### HTTP/1.1 keep-alive, one proxy hop")
w("")
w(f"Median of {rounds} interleaved rounds (direct, Gantry, nginx, HAProxy, then again),")
w("every column; requests/s of each round in brackets. The spread between rounds is this VM's: its CPU")
w("speed drifts by tens of percent over minutes (see *proxy CPU s / 100k req* of the same server across")
w("rounds in the raw outputs). Ratios are to nginx as a proxy.")
w("")
w("| target | requests/s | p50 | p99 | p99.9 | proxy CPU s / 100k req | backend CPU s / 100k req | backend conns opened | CPU 0 / CPU 1 busy | req/s vs nginx | p99 vs nginx |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
labels = {"direct": "(a) backend direct (baseline)", "gantry": "(b) Gantry → backend",
          "nginx": "(c) nginx → backend", "haproxy": "(d) HAProxy → backend"}
for t, label in labels.items():
    r = http[t]
    if not r:
        w(f"| {label} | failed | | | | | | | | | |")
        continue
    each = " / ".join(num(x["rps"]) for x in r["each"])
    proxy_cpu = "–" if t == "direct" else num(r.get("cpu100k"), 2)
    w(f"| {label} | {num(r['rps'])} ({each}) | {lat(r['p50'])} | {lat(r['p99'])} | {lat(r['p999'])} |"
      f" {proxy_cpu} | {num(r.get('bcpu100k'), 2)} | {num(r.get('backend_conns'))} | {busy(r)} |"
      f" {ratio(r['rps'], g(ng, 'rps'))} | {ratio(r['p99'], g(ng, 'p99'))} |")
w("")
w("*backend conns opened*: connections the backend accepted during the timed run (nginx `stub_status`);")
w(f"a proxy that reuses its upstream connections opens none, a direct run shows wrk's {F.get('conns')}.")
w("*CPU busy*: share of each CPU used by everything on the machine during the timed run (`/proc/stat`);")
w("CPU 0 near 100 % means the servers were the bottleneck.")
w("")
errs = {t: r["errors"] for t, r in http.items() if r and r.get("errors")}
if errs:
    w(f"Errors reported by wrk (connect/read/write/status/timeout, summed): {errs}.")
    w("")

# --- goals -------------------------------------------------------------------------


def goal_rows(pairs):
    rows = []
    for label, gt, ngx in pairs:
        if not gt or not ngx:
            rows.append(f"| {label} | – | – | not measured | – | – | not measured |")
            continue
        tr = gt["rps"] / ngx["rps"]
        sat = max(gt.get("cpu1_busy", 0), ngx.get("cpu1_busy", 0)) >= 95
        note = " (load generator saturated, CPU 1 ≥ 95 %: compare CPU per request below)" if sat else ""
        rows.append(
            f"| {label} | {num(gt['rps'])} | {num(ngx['rps'])} | {tr:.2f}× → "
            f"**{'met' if tr >= 1.1 else 'missed'}**{note} | {lat(gt.get('p99'))} | {lat(ngx.get('p99'))} | "
            + ("–" if gt.get("p99") is None else
               f"**{'met' if gt['p99'] <= ngx['p99'] else 'missed'}**") + " |")
    return rows


https_ka = {t: run(f"https-ka-{t}") for t in ("gantry", "nginx")}
https_close = {t: run(f"https-close-{t}") for t in ("gantry", "nginx")}
h2 = {k: run(k) for k in ("h2-tls-gantry", "h2-tls-nginx", "h2c-gantry", "h2c-nginx")}
w("### Goals: Gantry ≥ 1.1× nginx's requests/s, p99 ≤ nginx's")
w("")
w("| workload | Gantry req/s | nginx req/s | throughput goal (≥ 1.10×) | Gantry p99 | nginx p99 | p99 goal (≤ nginx) |")
w("|---|---:|---:|---|---:|---:|---|")
for row in goal_rows([
    ("HTTP/1.1 keep-alive (primary)", http["gantry"], ng),
    ("HTTPS keep-alive", https_ka["gantry"], https_ka["nginx"]),
    ("HTTPS, new TLS handshake per request", https_close["gantry"], https_close["nginx"]),
    ("h2 over TLS (ALPN)", h2["h2-tls-gantry"], h2["h2-tls-nginx"]),
    ("h2c (prior knowledge)", h2["h2c-gantry"], h2["h2c-nginx"]),
]):
    w(row)
w("")
w("h2load reports no percentiles, so the h2 rows have no p99 verdict; their mean latency is below.")
w("")
w("The same comparison by CPU time of the proxy process per 100k requests (lower is better), which")
w("does not depend on how the two CPUs were shared:")
w("")
w("| workload | Gantry CPU s / 100k | nginx CPU s / 100k | Gantry / nginx |")
w("|---|---:|---:|---:|")
for label, gt, ngx in (("HTTP/1.1 keep-alive", http["gantry"], ng),
                       ("HTTPS keep-alive", https_ka["gantry"], https_ka["nginx"]),
                       ("HTTPS, new TLS handshake per request", https_close["gantry"], https_close["nginx"]),
                       ("h2 over TLS", h2["h2-tls-gantry"], h2["h2-tls-nginx"]),
                       ("h2c", h2["h2c-gantry"], h2["h2c-nginx"])):
    w(f"| {label} | {num(g(gt, 'cpu100k'), 2)} | {num(g(ngx, 'cpu100k'), 2)} |"
      f" {ratio(g(gt, 'cpu100k'), g(ngx, 'cpu100k'))} |")
w("")

# --- (e) HTTPS ------------------------------------------------------------------------

w("### HTTPS: keep-alive and new handshakes")
w("")
w(f"Same self-signed ECDSA P-256 certificate for both (`CN=bench.local`; Gantry gets it from a")
w("`kubernetes.io/tls` Secret referenced by the Ingress's `spec.tls`, for `bench.local` and as the default")
w("certificate, since wrk sends the literal `127.0.0.1` as SNI). wrk offers no ALPN, so this is HTTP/1.1")
w("over TLS. *New handshakes*: wrk with `-H \"Connection: close\"`, so every request opens a TCP")
w("connection and does a full TLS handshake (wrk does not resume sessions); requests/s = handshakes/s.")
w(f"Negotiated: Gantry `{F.get('gantry_tls', '?').strip()}`, nginx `{F.get('nginx_tls', '?').strip()}`.")
w("")
w("| target | requests/s | p50 | p99 | p99.9 | proxy CPU s / 100k req | backend conns opened | CPU 0 / CPU 1 busy | req/s vs nginx | p99 vs nginx |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for kind, runs in (("keep-alive", https_ka), ("new handshake per request", https_close)):
    for t in ("gantry", "nginx"):
        r = runs[t]
        name = {"gantry": "Gantry", "nginx": "nginx"}[t]
        if not r:
            w(f"| {name}, {kind} | failed | | | | | | | | |")
            continue
        w(f"| {name}, {kind} | {num(r['rps'])} | {lat(r['p50'])} | {lat(r['p99'])} | {lat(r['p999'])} |"
          f" {num(r.get('cpu100k'), 2)} | {num(r.get('backend_conns'))} | {busy(r)} |"
          f" {ratio(r['rps'], g(runs['nginx'], 'rps'))} |"
          f" {ratio(r['p99'], g(runs['nginx'], 'p99'))} |")
w("")

# --- (f) h2 -----------------------------------------------------------------------------

w("### HTTP/2 (h2load)")
w("")
w(f"{F.get('conns')} connections × {F.get('h2_streams')} concurrent streams; h2 over TLS negotiated by ALPN,")
w("h2c with prior knowledge (Gantry serves h2c on its HTTP port next to HTTP/1.1; nginx needs a separate")
w("`listen … http2` port). Upstream is HTTP/1.1 in every case. h2load gives mean/sd/max, not percentiles.")
w("")
w("| target | requests/s | mean | sd | max | proxy CPU s / 100k req | backend conns opened | CPU 0 / CPU 1 busy | req/s vs nginx (same protocol) |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for proto, label in (("h2-tls", "h2 (TLS)"), ("h2c", "h2c")):
    for t in ("gantry", "nginx"):
        r = h2[f"{proto}-{t}"]
        name = {"gantry": "Gantry", "nginx": "nginx"}[t]
        if not r:
            w(f"| {name}, {label} | failed | | | | | | | |")
            continue
        extra = f" ({r['errors']} errors)" if r.get("errors") else ""
        w(f"| {name}, {label} | {num(r['rps'])}{extra} | {lat(r.get('mean'))} | {lat(r.get('sd'))} |"
          f" {lat(r.get('max'))} | {num(r.get('cpu100k'), 2)} | {num(r.get('backend_conns'))} | {busy(r)} |"
          f" {ratio(r['rps'], g(h2[f'{proto}-nginx'], 'rps'))} |")
w("")

grpc_section()

# --- (g) scale --------------------------------------------------------------------------

scale = prefixed_lines(os.path.join(WORK, "res/scale.txt"))
misc = kv_file(os.path.join(WORK, "res/misc.txt"))
w("### Route-table scale")
w("")
w("Gantry alone (its own instance per config, same backend), each request matching the **last** route in")
w("match order (the script checks this against `gantry routes`). *spread*: N/10 Ingresses, one host each,")
w("10 paths per host (5 Exact, 5 Prefix), as `gantry-bench generate` writes them: hosts are found")
w("in a hash map. *one host*: N Prefix paths of equal length on `bench.local` (N/10 Ingresses of 10")
w("paths), the case a per-host path index is for: Exact and Prefix paths are looked up by hash (each")
w("element-wise prefix of the request path), not walked in order. Start = spawn → first 200 on that")
w("route.")
w("")
w("| layout | routes | requests/s | p50 | p99 | p99.9 | CPU s / 100k req | CPU 0 / CPU 1 busy | req/s vs 10 routes | start | RSS idle | RSS after load |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for layout, label in (("spread", "spread"), ("onehost", "one host")):
    base = run(f"scale-{layout}-10")
    for n in (10, 1000, 10000):
        name = f"scale-{layout}-{n}"
        r, s = run(name), scale.get(name, {})
        if not r:
            w(f"| {label} | {n:,} | failed | | | | | | | | | |")
            continue
        w(f"| {label} | {n:,} | {num(r['rps'])} | {lat(r['p50'])} | {lat(r['p99'])} | {lat(r['p999'])} |"
          f" {num(r.get('cpu100k'), 2)} | {busy(r)} | {ratio(r['rps'], g(base, 'rps'))} | {s.get('start_ms', '–')} ms |"
          f" {kib(s.get('rss_idle'))} | {kib(s.get('rss_after'))} |")
w("")
for layout in ("spread", "onehost"):
    t = misc.get(f"scale_{layout}_10000_idle_ticks")
    if t is not None:
        secs = int(misc[f"scale_{layout}_10000_idle_s"])
        w(f"- Idle CPU with 10,000 routes ({'one host' if layout == 'onehost' else layout}): {int(t) / 100 / secs * 100:.1f} % of a CPU over {secs} s"
          f" (the 1 s `--watch auto` poll re-reads the config dir); with the 1-route config:"
          f" {int(misc.get('gantry_base_idle_ticks', 0)) / 100 / int(misc.get('gantry_base_idle_s', 1)) * 100:.1f} %.")
w("")

# --- (h) reload ---------------------------------------------------------------------------

reload_info = prefixed_lines(os.path.join(WORK, "res/reload.txt"))
w("### Reload cost")
w("")
w("Requests/s while a background loop rewrites an unrelated Ingress (`ingresses/unrelated.yaml`, host")
w("`unrelated.local`, atomic rename) every 100 ms, against runs without it. *applied* counts the")
w("gateway's `route table applied` log lines during the loop: file events are debounced (100 ms), so")
w("writes that land inside one window coalesce into one reload. 1 route: two runs each way, alternated")
w("(off, on, off, on), median shown with each run in brackets; 10,000 routes: the scale run above, then")
w("one run with the loop, on the same instance.")
w("")
w("| config | config writes | reloads applied | requests/s | p50 | p99 | p99.9 | CPU s / 100k req | req/s vs no reloads |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def reload_row(label, runs, info_names, base):
    r = mean_runs(runs)
    if not r:
        w(f"| {label} | | | failed | | | | | |")
        return r
    infos = [reload_info.get(n, {}) for n in info_names]
    writes = sum(int(i.get("writes", 0)) for i in infos) if info_names else None
    applied = sum(int(i.get("applied", 0)) for i in infos) if info_names else None
    each = " / ".join(num(x["rps"]) for x in r["each"])
    rps = f"{num(r['rps'])} ({each})" if len(r["each"]) > 1 else num(r["rps"])
    w(f"| {label} | {'–' if writes is None else writes} | {'–' if applied is None else applied} | {rps} |"
      f" {lat(r['p50'])} | {lat(r['p99'])} | {lat(r['p999'])} | {num(r.get('cpu100k'), 2)} |"
      f" {ratio(r['rps'], g(base, 'rps')) if base else '–'} |")
    return r


off = reload_row("1 route, no reloads", ["reload-off-r1", "reload-off-r2"], [], None)
reload_row("1 route, write every 100 ms", ["reload-on-r1", "reload-on-r2"], ["reload-on-r1", "reload-on-r2"], off)
off10 = reload_row("10,000 routes (spread), no reloads", ["scale-spread-10000"], [], None)
reload_row("10,000 routes (spread), write every 100 ms", ["reload-on-10k"], ["reload-on-10k"], off10)
w("")

# --- (i) memory ----------------------------------------------------------------------------

conns = prefixed_lines(os.path.join(WORK, "res/conns.txt"))
w("### Memory")
w("")
w("`VmRSS` (master and workers summed for nginx). Idle connections: `bench/compare/idle_conns.py` opens")
w(f"{F.get('idle_conns')} HTTP/1.1 connections, sends one `GET /` on each (200 at a time), keeps them all")
w("open and idle, and reads the server's RSS 2 s later. Gantry's RSS is read again 2 s and 15 s after")
w("those connections closed: its allocator, jemalloc, hands freed memory back to the OS over about 10 s.")
w("")
w("| what | Gantry | nginx | HAProxy |")
w("|---|---:|---:|---:|")
w(f"| idle, after start (1 route) | {kib(misc.get('rss_gantry_idle'))} | {kib(misc.get('rss_nginx_idle'))} |"
  f" {kib(misc.get('rss_haproxy_idle'))} |")
w(f"| after the HTTP/1.1 runs | {kib(misc.get('rss_gantry_after_load'))} (peak {kib(misc.get('hwm_gantry_after_load'))}) |"
  f" {kib(misc.get('rss_nginx_after_load'))} | {kib(misc.get('rss_haproxy_after_load'))} |")
row_b, row_a, row_per, row_ok = [], [], [], []
for t in ("gantry", "nginx", "haproxy"):
    c = conns.get(f"conns_{t}", {})
    if not c:
        row_b.append("–"); row_a.append("–"); row_per.append("–"); row_ok.append("–")
        continue
    b, a, n = int(c["rss_before_kib"]), int(c["rss_after_kib"]), int(c["opened"])
    row_b.append(kib(b))
    row_a.append(kib(a))
    row_per.append(f"{(a - b) * 1024 / max(n, 1) / 1024:.1f} KiB")
    row_ok.append(f"{n:,} / {int(c['ok']):,}")
w(f"| {F.get('idle_conns')} idle keep-alive connections: before | " + " | ".join(row_b) + " |")
w(f"| {F.get('idle_conns')} idle keep-alive connections: while open | " + " | ".join(row_a) + " |")
w("| per idle connection | " + " | ".join(row_per) + " |")
w("| connections open / answered 200 | " + " | ".join(row_ok) + " |")
w(f"| after those connections closed (+2 s) | {kib(misc.get('rss_gantry_after_conns_closed'))} | | |")
closed_15s = misc.get("rss_gantry_after_conns_closed_15s")
if closed_15s is None:
    closed_15s = "not measured"
else:
    closed_15s = kib(closed_15s)
    waited = float(misc.get("after_conns_closed_15s_s", "15"))
    if waited >= 16:  # the other servers' idle runs took longer than the 15 s
        closed_15s += f" (at +{waited:.0f} s)"
w(f"| after those connections closed (+15 s) | {closed_15s} | | |")
sp = scale.get("scale-spread-10000", {})
oh = scale.get("scale-onehost-10000", {})
w(f"| 10,000 routes (spread), idle / after load | {kib(sp.get('rss_idle'))} / {kib(sp.get('rss_after'))} | | |")
w(f"| 10,000 routes (one host), idle / after load | {kib(oh.get('rss_idle'))} / {kib(oh.get('rss_after'))} | | |")
w("")

# --- analysis, profile ----------------------------------------------------------------------

cg = prefixed_lines(os.path.join(WORK, "res/callgrind.txt"))
if cg:
    w("### Instructions per request (callgrind)")
    w("")
    w("Each proxy under `valgrind --tool=callgrind`, instrumentation switched on only for a wrk run")
    w("(`-t1 -c10 -d5s`, HTTP/1.1 keep-alive, same backend) and the profile dumped right")
    w("after: user-space instructions per proxied request, start-up excluded. The kernel's work (socket")
    w("reads and writes, about the same for every proxy) is not counted, so this isolates what each")
    w("proxy's own code costs and does not depend on other load on the machine. `rep movsb` copies count")
    w("one instruction per byte here, which overstates large `memcpy`s against their real time.")
    w("")
    w("| proxy | instructions / request | vs nginx | requests profiled |")
    w("|---|---:|---:|---:|")
    ngx_ipr = None
    if "nginx" in cg and cg["nginx"].get("requests"):
        ngx_ipr = int(cg["nginx"]["ir"]) / int(cg["nginx"]["requests"])
    for t, label in (("gantry", "Gantry"), ("nginx", "nginx"), ("haproxy", "HAProxy")):
        c = cg.get(t)
        if not c or not c.get("requests"):
            w(f"| {label} | failed | | |")
            continue
        ipr = int(c["ir"]) / int(c["requests"])
        w(f"| {label} | {ipr:,.0f} | {ratio(ipr, ngx_ipr)} | {int(c['requests']):,} |")
    w("")
    for t, label in (("gantry", "Gantry"), ("nginx", "nginx"), ("haproxy", "HAProxy")):
        self_prof = short_paths(read(os.path.join(WORK, f"res/callgrind-{t}-self.txt")).strip())
        incl_prof = short_paths(read(os.path.join(WORK, f"res/callgrind-{t}-incl.txt")).strip())
        if not self_prof:
            continue
        w(f"<details><summary>callgrind: {label}, top functions (self cost, then inclusive)</summary>")
        w("")
        w("```")
        w(self_prof)
        w("```")
        if t == "gantry" and incl_prof:
            w("")
            w("```")
            w(incl_prof)
            w("```")
        w("")
        w("</details>")
        w("")

analysis = read(os.path.join(HERE, "analysis.md")).strip()
if analysis:
    w("### Findings")
    w("")
    w(analysis)
    w("")

commands_and_raw()

print("\n".join(out))
