#!/usr/bin/env python3
"""What unauthenticated slow clients cost the server: RSS with N connections each sending an unfinished
request head, and how many of them the server has closed after a wait.

    .venv/bin/python bench/serving/slow_headers.py [--connections 40] [--head-mib 4] [--wait 5]

Starts `omnidrop serve` (uvicorn, no embedded worker) on a fresh data dir, measures its RSS at rest,
then opens the connections, sends each `--head-mib` MiB of one header line without ever ending the
head, and prints the server's RSS and how many connections it closed after `--wait` seconds. Server
settings come from the environment as usual (e.g. OMNIDROP_MAX_HEADER_BYTES, OMNIDROP_HEADER_TIMEOUT_SECONDS).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import httpx


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--head-mib", type=float, default=4)
    parser.add_argument("--wait", type=float, default=5)
    args = parser.parse_args()
    port = free_port()
    env = {**os.environ, "OMNIDROP_DATA_DIR": tempfile.mkdtemp(prefix="slow-headers-"),
           "OMNIDROP_EMBEDDED_WORKER": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "omnidrop.cli.main", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        print(f"server RSS at rest: {rss_mib(proc.pid):.0f} MiB")
        line = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: "
        filler = b"a" * (64 * 1024)
        conns, closed = [], 0
        for _ in range(args.connections):
            s = socket.create_connection(("127.0.0.1", port))
            s.settimeout(10)
            conns.append(s)
            try:
                s.sendall(line)
                for _ in range(int(args.head_mib * 16)):
                    s.sendall(filler)
            except OSError:  # the server refused and closed mid-head
                closed += 1
                conns.pop()
        time.sleep(1)
        print(f"server RSS with {args.connections} unfinished heads of {args.head_mib} MiB: {rss_mib(proc.pid):.0f} MiB"
              f" ({closed} refused while sending)")
        time.sleep(args.wait)
        still_open = 0
        for s in conns:
            s.setblocking(False)
            try:
                s.recv(65536)  # b"" or a 4xx answer: the server is done with it
            except BlockingIOError:
                still_open += 1
            except OSError:
                pass
        print(f"after {args.wait:.0f} s more: {still_open} of {len(conns)} still open, RSS {rss_mib(proc.pid):.0f} MiB")
        for s in conns:
            s.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


if __name__ == "__main__":
    main()
