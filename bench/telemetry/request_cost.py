#!/usr/bin/env python3
"""What the telemetry middleware adds to one request: a minimal ASGI app that takes an upload body
(as a protocol would: body_taken, body_counted) called N times bare and N times through
RequestTelemetry, in the mode `omnidrop serve` runs it (PROMETHEUS_MULTIPROC_DIR: samples written to
mmap'd files) and in a lone process (in memory). Prints microseconds per request, best of 5 runs.

  .venv/bin/python bench/telemetry/request_cost.py [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time

ROUTE = type("Route", (), {"path": "/api/v1/uploads/{upload_id}/{filename:path}", "endpoint": None})()


def measure(requests: int) -> tuple[float, float]:
    from omnidrop.telemetry.asgi import RequestTelemetry
    from omnidrop.telemetry.context import body_counted, body_taken

    async def endpoint(scope, receive, send):
        scope["route"] = ROUTE  # what the router leaves in the scope
        body_taken("content_range")
        body_counted(8 * 1024 * 1024, 8 * 1024 * 1024)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        return None

    scope = {"type": "http", "method": "PUT", "path": "/api/v1/uploads/x/y", "headers": [(b"x-request-id", b"bench")]}

    async def run(app) -> float:
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(requests):
                await app(dict(scope), receive, send)
            best = min(best, (time.perf_counter() - t) / requests)
        return best

    bare = asyncio.run(run(endpoint))
    wrapped = asyncio.run(run(RequestTelemetry(endpoint)))
    return bare * 1e6, wrapped * 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        bare, wrapped = measure(args.requests)
        print(f"{bare:.1f} {wrapped:.1f}")
        return 0
    print("| mode | bare µs/request | with telemetry µs/request | added µs |\n|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for mode, extra in (("in memory (one process)", {}), ("multiprocess (omnidrop serve)",
                                                               {"PROMETHEUS_MULTIPROC_DIR": folder})):
            env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"} | extra
            out = subprocess.run([sys.executable, __file__, "--child", "--requests", str(args.requests)],
                                 env=env, capture_output=True, text=True, check=True).stdout.split()
            bare, wrapped = map(float, out)
            print(f"| {mode} | {bare:.1f} | {wrapped:.1f} | {wrapped - bare:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
