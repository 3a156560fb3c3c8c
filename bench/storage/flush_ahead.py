#!/usr/bin/env python3
"""What the local store's flush-ahead buys: the same body written with and without it.

`omnidrop.storage.file_writer.write_stream` hands every FLUSH_AHEAD bytes to the disk while a body streams
in (sync_file_range), then fdatasyncs. With the flush-ahead off (FLUSH_AHEAD past the body's size) it
is a plain write and one fdatasync at the end. For each shape the script times the writes and the
final fdatasync separately, alternating the two modes, and prints medians:

    .venv/bin/python bench/storage/flush_ahead.py [--dir DIR] [--runs 3]

Shapes: one 512 MiB body (a whole-file PUT) and 40 bodies of 8 MiB appended to one file (chunks).
The data is random, written in 64 KiB pieces as a socket hands them over.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from omnidrop.storage import file_writer

MiB = 1024 * 1024
PIECE = os.urandom(64 * 1024)


class Timed:
    """Counts the time spent in the final fdatasync (the rest of write_stream is the writes)."""

    def __init__(self) -> None:
        self.sync = 0.0
        self._real = os.fdatasync

    def __call__(self, fd: int) -> None:
        t = time.perf_counter()
        self._real(fd)
        self.sync += time.perf_counter() - t


async def body(size: int):
    for _ in range(size // len(PIECE)):
        yield PIECE


async def one_run(path: Path, bodies: int, size: int, flush_ahead: bool) -> tuple[float, float]:
    file_writer.FLUSH_AHEAD = 2 * MiB if flush_ahead else 1 << 62
    timed = Timed()
    os.fdatasync = timed
    try:
        start = time.perf_counter()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
        try:
            for n in range(bodies):
                await file_writer.write_stream(fd, n * size, body(size), durable=True)
        finally:
            os.close(fd)
        total = time.perf_counter() - start
    finally:
        os.fdatasync = timed._real
        path.unlink()
    return total - timed.sync, timed.sync


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir under .)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir or Path.cwd()) as tmp:
        path = Path(tmp) / "body.bin"
        print("| body | flush-ahead | writes s | final fdatasyncs s | total s |")
        print("|---|---|---:|---:|---:|")
        for label, bodies, size in (("512 MiB, 1 request", 1, 512 * MiB), ("40 x 8 MiB requests", 40, 8 * MiB)):
            got: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
            for _ in range(args.runs):
                for mode in (False, True):
                    os.sync()
                    got[mode].append(asyncio.run(one_run(path, bodies, size, mode)))
            for mode in (False, True):
                writes = statistics.median(w for w, _ in got[mode])
                syncs = statistics.median(s for _, s in got[mode])
                print(f"| {label} | {'on' if mode else 'off'} | {writes:.3f} | {syncs:.3f} | {writes + syncs:.3f} |")


if __name__ == "__main__":
    main()
