"""Tour building: order and link N panoramas scattered over a site (about 1 km square).

    python bench/tours/run.py [--sizes 100,1000,3000]

For each N: GPS without capture times (nearest-neighbour chain, then up to 3 near links per node)
and GPS with capture times (time order, then the near links). Prints a Markdown table of wall
seconds. The panoramas' bytes are not involved: this is the pure ordering and linking step the
project job runs after every file is recorded (pipeline/tours.py).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta

from omnidrop.pipeline.tours import Spot, build


def spots(n: int, timed: bool) -> list[Spot]:
    rng = random.Random(n)
    start = datetime(2026, 5, 1, 10)
    return [Spot(f"pano_{i}.jpg", None, f"pano_{i}.jpg", gps=(48.85 + rng.random() * 0.01, 2.29 + rng.random() * 0.01, None),
                 taken_at=start + timedelta(seconds=i) if timed else None) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,3000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    print("| panoramas | GPS, no times (chain) s | GPS + times s | links per node |")
    print("|---:|---:|---:|---:|")
    for n in sizes:
        row = []
        for timed in (False, True):
            given = spots(n, timed)
            t = time.perf_counter()
            tour = build(given)
            row.append(time.perf_counter() - t)
        per_node = sum(len(node["links"]) for node in tour["nodes"]) / n
        print(f"| {n} | {row[0]:.2f} | {row[1]:.2f} | {per_node:.1f} |")


if __name__ == "__main__":
    main()
