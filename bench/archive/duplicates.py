"""Archive unpacking time against entry count, for the two shapes that used to be quadratic:

* one name repeated N times (each copy needs a unique `_N` suffix), and
* N small archives inside one archive (each nested archive takes a checkpoint).

    python bench/archive/duplicates.py [--counts 2000,4000,8000] [--runs 3]

Prints a Markdown table: median wall seconds per shape and count, and the ratio to the previous
count (linear work doubles when the count doubles; quadratic work quadruples).
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

from omnidrop.pipeline.archive import UnpackLimits, unpack


def duplicates(path: Path, count: int) -> Path:
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        warnings.simplefilter("ignore")
        for i in range(count):
            zf.writestr("dup/same.jpg", b"%d" % i)
    return path


def nested(path: Path, count: int) -> Path:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.jpg", b"x")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(count):
            zf.writestr(f"part{i}.zip", inner.getvalue())
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="2000,4000,8000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    limits = UnpackLimits(max_entries=1_000_000)
    work = Path(tempfile.mkdtemp(prefix="omnidrop-bench-archive-"))
    print("| shape | entries | median s | x previous |")
    print("|---|---:|---:|---:|")
    try:
        for shape, make in (("one name repeated", duplicates), ("nested archives", nested)):
            previous = None
            for count in counts:
                archive = make(work / f"{shape[:3]}{count}.zip", count)
                times = []
                for run in range(args.runs):
                    dest = work / f"dest{run}"
                    start = time.perf_counter()
                    unpack(archive, dest, limits)
                    times.append(time.perf_counter() - start)
                    shutil.rmtree(dest)
                median = statistics.median(times)
                ratio = f"{median / previous:.1f}" if previous else ""
                print(f"| {shape} | {count} | {median:.2f} | {ratio} |")
                previous = median
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
