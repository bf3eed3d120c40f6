#!/usr/bin/env python3
"""probe.py PORT STOP_FILE OUT_JSON: GET /livez on a new connection every 20 ms (connect to last
byte, as a kubelet probe does) until STOP_FILE exists; writes {n, failed, max_ms, p99_ms,
over_10ms, over_100ms} to OUT_JSON (stdlib only)."""
import json
import os
import socket
import sys
import time

port, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lat, failed = [], 0
while not os.path.exists(stop):
    t0 = time.perf_counter()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        failed += not data.startswith(b"HTTP/1.1 200")
    except OSError:
        failed += 1
    lat.append((time.perf_counter() - t0) * 1000)
    time.sleep(0.02)
lat.sort()
n = len(lat)
with open(out, "w") as f:
    json.dump({"n": n, "failed": failed, "max_ms": round(lat[-1], 1) if n else None,
               "p99_ms": round(lat[min(n - 1, int(n * 0.99))], 1) if n else None,
               "over_10ms": sum(x > 10 for x in lat), "over_100ms": sum(x > 100 for x in lat)}, f)
