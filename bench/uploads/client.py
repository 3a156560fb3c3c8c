#!/usr/bin/env python3
"""`omnidrop upload` (the Python client) against curl, one 1 GiB file into a fresh omnidrop server.

Reuses run.py's pieces (inputs, the omnidrop server, the process-tree sampler, the curl config
writer). Rows, each on a fresh `omnidrop serve` (uvicorn, fsync on, job worker off):

  curl, 1 request            curl -T, one PUT of the whole file (the File Upload API)
  curl, 8 MiB requests       curl -K, PUT + Content-Range per 8 MiB, one keep-alive connection
  omnidrop upload            the CLI, --chunk-size 8MiB (the default), 64MiB, and the whole file at once
  omnidrop upload --via tus  tus PATCHes of 8 MiB
  omnidrop upload --via parts  presigned parts of 8 MiB, --parallel 4

MiB/s is payload over the wall time of the client process (for the CLI: from exec to exit, Python's
start-up, the session POST and the final status included). Client CPU s/GiB and peak RSS are the
client's process tree (sampled every 50 ms); server CPU s/GiB is omnidrop's tree over the same window.

  .venv/bin/python bench/uploads/client.py [--quick] [--out bench/results/client.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("bench_uploads_run", HERE / "run.py")
run = importlib.util.module_from_spec(spec)
sys.modules["bench_uploads_run"] = run
spec.loader.exec_module(run)  # type: ignore[union-attr]

MiB, GiB = run.MiB, run.GiB


def client_rows(size: int) -> list[tuple[str, list[str] | str]]:
    rows: list[tuple[str, list[str] | str]] = [("curl, 1 request", "curl-single"), ("curl, 8 MiB requests", "curl-chunked")]
    rows += [
        ("omnidrop upload --chunk-size 8MiB", ["--chunk-size", "8MiB"]),
        ("omnidrop upload --chunk-size 64MiB", ["--chunk-size", "64MiB"]),
        (f"omnidrop upload --chunk-size {size // MiB}MiB (1 request)", ["--chunk-size", f"{size // MiB}MiB"]),
        ("omnidrop upload --via tus", ["--via", "tus", "--chunk-size", "8MiB"]),
        ("omnidrop upload --via parts --parallel 4", ["--via", "parts", "--chunk-size", "8MiB", "--parallel", "4"]),
    ]
    return rows


def measure(proc: subprocess.Popen, server_sampler, timeout: float) -> dict:
    client = run.TreeSampler(proc.pid)
    client.start()
    cw = client.start_window()
    sw = server_sampler.start_window()
    t0 = time.perf_counter()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        wall = time.perf_counter() - t0
    ccpu, crss, _, _ = client.end_window(cw)
    scpu, _, _, _ = server_sampler.end_window(sw)
    client.stop()
    return {"wall": wall, "client_cpu": ccpu, "client_rss": crss, "server_cpu": scpu, "out": out, "err": err,
            "rc": proc.returncode}


def one_row(args, label: str, how, src: Path, sha: str, size: int, chunks: list[Path], work: Path) -> dict:
    store = work / "store"
    srv = run.Omnidrop(args, store, run.free_port(), work / "server.log")
    srv.start()
    sampler = run.TreeSampler(srv.proc.pid)
    sampler.start()
    row = {"label": label, "bytes": size}
    try:
        if isinstance(how, str):  # curl
            up = srv.create(size, "bench.e57")
            if how == "curl-single":
                segs = [srv.whole(up, str(src), work / "single.out")]
            else:
                segs = [srv.chunk(up, i * run.CHUNK, min(run.CHUNK, size - i * run.CHUNK), str(p), work / f"c{i}.out")
                        for i, p in enumerate(chunks)]
            cfg = work / "upload.curl"
            run.write_curl_config(cfg, segs, run.max_time_for(size))
            row["command"] = f"curl -K {cfg.name}"
            got = measure(subprocess.Popen(["curl", "-K", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           text=True), sampler, run.max_time_for(size) + 30)
            errors = run.check_codes(got["out"], segs)
            if errors:
                raise RuntimeError("; ".join(errors))
            uploads = [up]
        else:
            link = work / "bench.e57"  # the name the server keeps (and an allowed extension)
            if not link.exists():
                os.link(src, link)
            cmd = [str(args.omnidrop_bin), "upload", str(link), "--no-project", "--json", "--quiet", *how]
            row["command"] = shlex.join(["omnidrop", *cmd[1:]])
            env = {**os.environ, "OMNIDROP_URL": srv.base(), "OMNIDROP_API_KEY": srv.key,
                   "OMNIDROP_STATE_FILE": str(work / "state.json")}
            got = measure(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
                          sampler, run.max_time_for(size) + 30)
            if got["rc"] != 0:
                raise RuntimeError(f"omnidrop upload exited {got['rc']}: {got['err'][-500:]}")
            result = json.loads(got["out"])
            uid = result["upload_id"] or result["files"][0]["location"].rstrip("/").rsplit("/", 1)[-1]
            uploads = [run.Upload(url=f"{srv.base()}/api/v1/uploads/{uid}/bench.e57", name="bench.e57", size=size,
                                  ident=uid)] if result["upload_id"] else []
        check = run.Result(server="omnidrop", scenario="client", label=label)
        if uploads:
            run.verify(srv, uploads, sha, check)
        else:  # tus / parts: find the stored file by size and hash it
            hits = [p for p in store.rglob("*") if p.is_file() and p.stat().st_size == size and "bench" not in p.name
                    or (p.is_file() and p.name == "bench.e57" and p.stat().st_size == size)]
            check.check = "sha256 ok" if any(run.sha256_file(p) == sha for p in hits) else "SHA256 NOT FOUND"
        row.update(wall=got["wall"], client_cpu=got["client_cpu"], client_rss=got["client_rss"],
                   server_cpu=got["server_cpu"], check=check.check, errors=check.errors)
    finally:
        sampler.stop()
        srv.stop()
    return row


def table(rows: list[dict]) -> str:
    lines = ["| client | MiB/s | wall s | client CPU s/GiB | client peak RSS MiB | server CPU s/GiB | check |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        gib = r["bytes"] / GiB
        lines.append(f"| {r['label']} | {r['bytes'] / MiB / r['wall']:.0f} | {r['wall']:.2f} | "
                     f"{r['client_cpu'] / gib:.2f} | {r['client_rss'] / MiB:.0f} | {r['server_cpu'] / gib:.2f} | "
                     f"{r['check']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="64 MiB instead of 1 GiB")
    run.omnidrop_only_args(p)
    args = p.parse_args(argv)
    run.require_psutil()
    size = 64 * MiB if args.quick else GiB
    inputs = args.data_root / "inputs"
    src, sha = run.ensure_input(inputs, size)
    chunks = run.ensure_chunks(inputs, src, size, run.CHUNK)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for i, (label, how) in enumerate(client_rows(size)):
        work = args.data_root / "runs" / f"client-{stamp}" / f"row{i}"
        work.mkdir(parents=True, exist_ok=True)
        os.sync()
        run.log(f"{label} ...")
        row = one_row(args, label, how, src, sha, size, chunks, work)
        run.log(f"  {row['bytes'] / MiB / row['wall']:.0f} MiB/s, {row['check']}")
        rows.append(row)
    text = table(rows)
    print(text)
    print("\ncommands:")
    for r in rows:
        print(f"  {r['label']}: {r['command']}")
    run.write_out(text, args.out)
    return 1 if any(r["errors"] or "ok" not in r["check"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
