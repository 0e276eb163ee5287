#!/usr/bin/env python3
"""Opens COUNT keep-alive connections to 127.0.0.1:PORT, sends one GET on each (in batches,
so the server never has more than BATCH requests in flight), keeps them all open and idle,
then reports the RSS of the given server processes before and after. Loopback only,
bounded in count and time; every socket is closed on exit.

  idle_conns.py --port P --count 10000 --pids PID[,PID...] [--host bench.local]
Prints one line: opened=N ok=N rss_before_kib=X rss_after_kib=Y elapsed_s=T
"""
import argparse
import resource
import selectors
import socket
import sys
import time

DEADLINE_S = 60.0


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--host", default="bench.local")
    p.add_argument("--pids", required=True, help="comma-separated server pids (RSS is summed)")
    p.add_argument("--settle", type=float, default=2.0)
    args = p.parse_args()
    if args.count > 20000:
        sys.exit("--count is capped at 20000")
    pids = [int(x) for x in args.pids.split(",") if x]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.count + 100
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    request = f"GET / HTTP/1.1\r\nHost: {args.host}\r\n\r\n".encode()
    before = rss_kib(pids)
    start = time.monotonic()
    socks, ok = [], 0
    sel = selectors.DefaultSelector()
    try:
        while len(socks) < args.count and time.monotonic() - start < DEADLINE_S:
            batch = []
            for _ in range(min(args.batch, args.count - len(socks))):
                s = socket.create_connection(("127.0.0.1", args.port), timeout=5)
                s.sendall(request)
                s.setblocking(False)
                socks.append(s)
                batch.append(s)
                sel.register(s, selectors.EVENT_READ, bytearray())
            pending = set(batch)
            while pending and time.monotonic() - start < DEADLINE_S:
                for key, _ in sel.select(timeout=1.0):
                    s, buf = key.fileobj, key.data
                    chunk = s.recv(65536)
                    if not chunk:
                        sel.unregister(s)
                        pending.discard(s)
                        continue
                    buf += chunk
                    head, sep, body = bytes(buf).partition(b"\r\n\r\n")
                    if not sep:
                        continue
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    if len(body) >= length:
                        sel.unregister(s)
                        pending.discard(s)
                        if head.startswith(b"HTTP/1.1 200"):
                            ok += 1
        time.sleep(args.settle)
        alive = sum(1 for s in socks if s.fileno() != -1)
        after = rss_kib(pids)
        print(
            f"opened={alive} ok={ok} rss_before_kib={before} rss_after_kib={after} "
            f"elapsed_s={time.monotonic() - start:.1f}"
        )
    finally:
        for s in socks:
            s.close()


if __name__ == "__main__":
    main()
