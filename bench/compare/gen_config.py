#!/usr/bin/env python3
"""Writes Gantry config dirs for bench/compare.sh (Higress file layout).

  gen_config.py base  --out DIR --backend 127.0.0.1:PORT --cert CERT.pem --key KEY.pem
      McpBridge with a static registry `be` at the backend, Ingress `bench` sending host
      bench.local (path / Prefix) to `be.static`, with TLS from Secret `bench-tls` for
      bench.local and as the default certificate (for clients that send no SNI).
  gen_config.py scale --out DIR --backend 127.0.0.1:PORT --routes N --layout spread|onehost
      spread:  N/10 Ingresses, one host each (h0000.example.com ...), 10 paths per host
               (5 Exact /v1/svc<j>/status, 5 Prefix /v1/svc<j>), as gantry-bench generate does.
      onehost: N/10 Ingresses all on host bench.local, 10 Prefix paths each
               (/p00000 ... /p<N-1>, same length), i.e. N routes on one host.
      Prints "HOST PATH" of a request that matches the last route in match order.
  gen_config.py grpc  --out DIR --backend 127.0.0.1:PORT
      McpBridge with a static registry `be` at a gRPC backend (h2c), Ingress `grpc` sending
      host bench.local (path / Prefix) to `be.static` with `higress.io/backend-protocol: GRPC`.
  gen_config.py unrelated --out DIR --interval 0.1 --duration 12
      Rewrites ingresses/unrelated.yaml atomically (host unrelated.local, path /u<K>, K
      counting up) every INTERVAL seconds for DURATION seconds; prints the number of writes.
"""
import argparse
import base64
import os
import sys
import time

MCPBRIDGE = """apiVersion: networking.higress.io/v1
kind: McpBridge
metadata:
  name: default
  namespace: higress-system
spec:
  registries:
  - domain: "{backend}"
    name: be
    port: 80
    type: static
"""

BACKEND = """      - backend:
          resource:
            apiGroup: networking.higress.io
            kind: McpBridge
            name: default
        path: {path}
        pathType: {kind}
"""


def ingress(name, rules, tls=None, annotations=()):
    out = [
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  annotations:\n",
        '    higress.io/destination: "be.static"\n',
        *(f'    {k}: "{v}"\n' for k, v in annotations),
        f"  name: {name}\n  namespace: higress-system\nspec:\n  ingressClassName: higress\n  rules:\n",
    ]
    for host, paths in rules:
        out.append(f'  - host: "{host}"\n    http:\n      paths:\n')
        for path, kind in paths:
            out.append(BACKEND.format(path=path, kind=kind))
    if tls:
        out.append("  tls:\n")
        for hosts, secret in tls:
            if hosts:
                out.append("  - hosts:\n")
                out.extend(f'    - "{h}"\n' for h in hosts)
                out.append(f"    secretName: {secret}\n")
            else:
                out.append(f"  - secretName: {secret}\n")
    return "".join(out)


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def base(args):
    write(args.out, "mcpbridges/default.yaml", MCPBRIDGE.format(backend=args.backend))
    b64 = lambda p: base64.b64encode(open(p, "rb").read()).decode()
    write(
        args.out,
        "secrets/bench-tls.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: bench-tls\n  namespace: higress-system\n"
        f"type: kubernetes.io/tls\ndata:\n  tls.crt: {b64(args.cert)}\n  tls.key: {b64(args.key)}\n",
    )
    write(
        args.out,
        "ingresses/bench.yaml",
        ingress(
            "bench",
            [("bench.local", [("/", "Prefix")])],
            tls=[(["bench.local"], "bench-tls"), ([], "bench-tls")],
        ),
    )


def grpc(args):
    write(args.out, "mcpbridges/default.yaml", MCPBRIDGE.format(backend=args.backend))
    write(
        args.out,
        "ingresses/grpc.yaml",
        ingress(
            "grpc",
            [("bench.local", [("/", "Prefix")])],
            annotations=[("higress.io/backend-protocol", "GRPC")],
        ),
    )


def scale(args):
    n = args.routes
    if n % 10:
        sys.exit("--routes must be a multiple of 10")
    write(args.out, "mcpbridges/default.yaml", MCPBRIDGE.format(backend=args.backend))
    if args.layout == "spread":
        hosts = n // 10
        paths = [
            (f"/v1/svc{j}/status", "Exact") if j % 2 == 0 else (f"/v1/svc{j}", "Prefix")
            for j in range(10)
        ]
        for i in range(hosts):
            write(args.out, f"ingresses/route-h{i:04d}.yaml",
                  ingress(f"route-h{i:04d}", [(f"h{i:04d}.example.com", paths)]))
        # Exact paths come first, then Prefix paths in the order written: /v1/svc9 is last.
        print(f"h{hosts - 1:04d}.example.com /v1/svc9/orders/42")
    else:
        for i in range(n // 10):
            paths = [(f"/p{i * 10 + j:05d}", "Prefix") for j in range(10)]
            write(args.out, f"ingresses/route-p{i:04d}.yaml",
                  ingress(f"route-p{i:04d}", [("bench.local", paths)]))
        # Same-length Prefix paths keep the order written (files by name): the last is last.
        print(f"bench.local /p{n - 1:05d}/orders/42")


def unrelated(args):
    start = time.monotonic()
    k = 0
    while time.monotonic() - start < args.duration:
        write(
            args.out,
            "ingresses/unrelated.yaml",
            ingress("unrelated", [("unrelated.local", [(f"/u{k}", "Prefix")])]),
        )
        k += 1
        # Keep a fixed cadence: the next write is due at start + k * interval.
        time.sleep(max(0.0, start + k * args.interval - time.monotonic()))
    print(k)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["base", "grpc", "scale", "unrelated"])
    p.add_argument("--out", required=True)
    p.add_argument("--backend")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--routes", type=int, default=10)
    p.add_argument("--layout", choices=["spread", "onehost"], default="spread")
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--duration", type=float, default=10.0)
    args = p.parse_args()
    {"base": base, "grpc": grpc, "scale": scale, "unrelated": unrelated}[args.what](args)


if __name__ == "__main__":
    main()
