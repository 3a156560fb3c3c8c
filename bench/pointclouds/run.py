"""Point clouds to a streamed level-of-detail format: omnidrop's COPC job against py3dtiles' CLI.

    python bench/pointclouds/run.py [--points 10M,50M] [--workdir DIR] [--py3dtiles PATH] [--no-viewer]

For each size: one synthetic LAS 1.4 (point format 7: terrain with hills and boxes, RGB and
intensity, written in chunks), then one after the other on the same file:

* omnidrop: `convert_cloud` (pipeline/pointclouds) to COPC, the function the project job runs;
* `py3dtiles convert` (its CLI, default jobs = CPU count) to OGC 3D Tiles (.pnts);

Reported per tool: wall seconds, points/s, CPU seconds (the tool and its workers), peak RSS of the whole process tree (psutil,
sampled every 50 ms: py3dtiles runs worker processes), output size; and the first-frame time of
each output in headless Chromium (ms from navigation until the first points are drawn, median of 3): omnidrop's
viewer code (web/src/views/pointcloud.ts: copc.js + three.js) and 3d-tiles-renderer over the same
local HTTP server with range requests. Prints a Markdown table.

py3dtiles is not an omnidrop dependency: install it in its own venv (`python -m venv /tmp/p3d &&
/tmp/p3d/bin/pip install py3dtiles==12.1.1`) and pass --py3dtiles /tmp/p3d/bin/py3dtiles.
The viewer pages are built first with web/node_modules/.bin/vite (see viewer/vite.config.mjs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHUNK = 2_000_000

OMNIDROP = """
import sys
from pathlib import Path
from omnidrop.pipeline.pointclouds.convert import convert_cloud
done = convert_cloud(Path(sys.argv[1]), "las", Path(sys.argv[2]))
print(done.details["points"], done.details["lod"])
"""


def generate(path: Path, n: int) -> Path:
    """A 1 km² terrain with hills and building-like boxes, coloured by height, in CHUNK-point writes."""
    import laspy

    if path.exists():
        return path
    print(f"generating {path.name} ({n:,} points) ...", file=sys.stderr)
    header = laspy.LasHeader(point_format=7, version="1.4")
    header.scales, header.offsets = [0.001] * 3, [600000, 5100000, 0]
    rng = np.random.default_rng(42)
    tmp = path.with_suffix(".part")
    with laspy.open(tmp, mode="w", header=header) as writer:
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            x, y = rng.random(m) * 1000, rng.random(m) * 1000
            z = 20 * np.sin(x / 90) * np.cos(y / 130) + 5 * np.sin(x / 17 + y / 23) + rng.normal(0, 0.05, m)
            roof = ((x % 100) < 40) & ((y % 120) < 50)  # boxes: 40 x 50 m roofs 15 m up
            z = np.where(roof, z + 15, z)
            pts = laspy.ScaleAwarePointRecord.zeros(m, header=header)
            pts.x, pts.y, pts.z = x + 600000, y + 5100000, z
            t = (z - z.min()) / max(float(np.ptp(z)), 1e-9)
            pts.red = (t * 65535).astype(np.uint16)
            pts.green = ((1 - abs(t - 0.5) * 2) * 65535).astype(np.uint16)
            pts.blue = ((1 - t) * 65535).astype(np.uint16)
            pts.intensity = rng.integers(0, 65535, m, dtype=np.uint16)
            writer.write_points(pts)
    tmp.rename(path)
    return path


def measured(argv: list[str], env: dict[str, str] | None = None) -> dict:
    """Wall and CPU seconds, and peak RSS summed over the process tree (MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = psutil.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        total = 0
        try:
            tree = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in tree:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        peak = max(peak, total)
        time.sleep(0.05)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child and every process it waited for
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited with {proc.returncode}: {err[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "rss_mib": peak / 2**20, "stdout": out.strip()}


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single byte ranges (COPC readers fetch nodes by range)."""

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        first, _, last = rng.removeprefix("bytes=").partition("-")
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
        f = open(path, "rb")
        f.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(f.read(end - start + 1))
        f.close()
        return None


def first_frame(root: Path, page: str, src: str) -> dict:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/viewer/{page}?src=/{src}"
        cfg = {"page": url, "artifacts": str(root / "shots"), "shot": f"bench-{page.split('.')[0]}-{src.split('/')[0]}",
               "timeout_ms": 180000}
        (root / "shots").mkdir(exist_ok=True)
        done = subprocess.run(["node", str(REPO / "tests/web/pointcloud.mjs"), json.dumps(cfg)],
                              capture_output=True, text=True, timeout=240, check=False)
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        server.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", default="10M,50M")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/omnidrop-bench-pointclouds"))
    ap.add_argument("--py3dtiles", default=shutil.which("py3dtiles") or "/tmp/p3d/bin/py3dtiles")
    ap.add_argument("--no-viewer", action="store_true")
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    if not args.no_viewer:
        subprocess.run([str(REPO / "web/node_modules/.bin/vite"), "build", "--config", str(HERE / "viewer/vite.config.mjs")],
                       check=True, cwd=REPO / "web")
        shutil.rmtree(work / "viewer", ignore_errors=True)
        shutil.copytree(HERE / "viewer/dist", work / "viewer")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    rows = []
    for label in args.points.split(","):
        n = int(float(label.rstrip("M")) * 1_000_000)
        las = generate(work / f"terrain_{label}.las", n)
        copc_dir, tiles_dir = work / f"copc_{label}", work / f"tiles_{label}"
        for d in (copc_dir, tiles_dir):
            shutil.rmtree(d, ignore_errors=True)
        runs = {
            "omnidrop → COPC": (measured([sys.executable, "-c", OMNIDROP, str(las), str(copc_dir)], env), copc_dir,
                                ("copc.html", f"copc_{label}/cloud.copc.laz")),
            "py3dtiles convert → 3D Tiles": (measured([args.py3dtiles, "convert", str(las), "--out", str(tiles_dir),
                                                        "--overwrite"]), tiles_dir,
                                             ("tiles.html", f"tiles_{label}/tileset.json")),
        }
        for name, (m, out, (page, src)) in runs.items():
            row = {"size": label, "tool": name, "points/s": n / m["wall"], **{k: v for k, v in m.items() if k != "stdout"},
                   "output_mib": du(out) / 2**20}
            if not args.no_viewer:  # the median of three page loads (a fresh browser each)
                tries = [first_frame(work, page, src) for _ in range(3)]
                ok = [t["firstFrameMs"] for t in tries if t.get("ok")]
                row["first_frame_ms"] = statistics.median(ok) if ok else f"failed: {tries[0].get('error', '')[:80]}"
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    print("| points | tool | wall s | points/s | CPU s | peak RSS (tree) | output | first frame |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        ff = r.get("first_frame_ms", "–")
        ff = f"{ff} ms" if isinstance(ff, (int, float)) else ff
        print(f"| {r['size']} | {r['tool']} | {r['wall']:.1f} | {r['points/s'] / 1e6:.2f} M | {r['cpu']:.1f} | "
              f"{r['rss_mib']:.0f} MiB | {r['output_mib']:.0f} MiB | {ff} |")


if __name__ == "__main__":
    main()
