#!/usr/bin/env python3
"""What one chunk request costs omnidrop beyond its bytes: sequential `Content-Range` PUTs on one
keep-alive connection, each answered before the next is sent, into a fresh `omnidrop serve`.

Reuses run.py's omnidrop server (uvicorn, fsync on, job worker off, rate limits off). Rows:

  1 KiB chunks   nearly all of the time is the request itself: auth, lease claim, write + fdatasync,
                 commit, HTTP
  8 MiB chunks   the benchmark's chunked case, one request at a time

For each row: median and 90th percentile of the client's wall time per request (send to response
read), and the server process tree's CPU per request. `--omnidrop-bin` runs another checkout for an
A/B (a wrapper script that sets PYTHONPATH to its src/).

  .venv/bin/python bench/uploads/request_latency.py [--requests 500] [--out FILE]
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_uploads_run", HERE / "run.py")
run = importlib.util.module_from_spec(spec)
sys.modules["bench_uploads_run"] = run
spec.loader.exec_module(run)  # type: ignore[union-attr]

KiB, MiB = 1024, run.MiB
ROWS = [("1 KiB chunks", KiB, 1.0), ("8 MiB chunks", 8 * MiB, 0.2)]  # label, chunk size, share of --requests


def one_row(args, label: str, size: int, count: int, work: Path) -> dict:
    srv = run.Omnidrop(args, work / "store", run.free_port(), work / "server.log")
    srv.start()
    sampler = run.TreeSampler(srv.proc.pid)
    sampler.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        auth = srv.auth()
        conn.request("POST", "/api/v1/uploads", b"", auth)
        upload_id = json.loads(conn.getresponse().read())["upload_id"]
        body, total = bytes(size), size * count
        path = f"/api/v1/uploads/{upload_id}/bench.mp4"

        def put(i: int) -> float:
            t = time.perf_counter()
            conn.request("PUT", path, body, {**auth, "Content-Range": f"bytes {i * size}-{(i + 1) * size - 1}/{total}"})
            response = conn.getresponse()
            answer = response.read()
            if response.status != 200:
                raise RuntimeError(f"PUT {i}: HTTP {response.status} {answer[:200]!r}")
            return time.perf_counter() - t

        warm = max(1, count // 10)  # the first requests pay for imports and caches; not counted
        for i in range(warm):
            put(i)
        window = sampler.start_window()
        times = [put(i) for i in range(warm, count)]
        cpu, *_ = sampler.end_window(window)
        final = json.loads(answer_of(conn, path, auth))
        if final != {"received": total, "total": total, "complete": True}:
            raise RuntimeError(f"the server's account is {final}")
        conn.close()
    finally:
        sampler.stop()
        srv.stop()
    times.sort()
    return {"label": label, "requests": len(times), "median_ms": statistics.median(times) * 1000,
            "p90_ms": times[int(len(times) * 0.9)] * 1000, "server_cpu_ms": cpu / len(times) * 1000}


def answer_of(conn: http.client.HTTPConnection, path: str, auth: dict) -> bytes:
    conn.request("GET", path, headers=auth)
    return conn.getresponse().read()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=500, help="1 KiB requests per row (8 MiB rows: a fifth)")
    run.omnidrop_only_args(p)
    args = p.parse_args(argv)
    run.require_psutil()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for i, (label, size, share) in enumerate(ROWS):
        work = args.data_root / "runs" / f"latency-{stamp}" / f"row{i}"
        work.mkdir(parents=True, exist_ok=True)
        run.log(f"{label} ...")
        rows.append(one_row(args, label, size, max(10, int(args.requests * share)), work))
    lines = ["| chunks | requests | median ms | p90 ms | server CPU ms per request |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['label']} | {r['requests']} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | {r['server_cpu_ms']:.2f} |"
              for r in rows]
    text = "\n".join(lines)
    print(text)
    run.write_out(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
