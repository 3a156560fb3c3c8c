"""Camera poses for a 40-image scene: omnidrop's pycolmap pipeline against Debian's `colmap` CLI
(`automatic_reconstructor`, CPU), on the same images, side by side in one run.

    python bench/reconstruction/run.py [--workdir DIR] [--runs 1] [--views 40] [--size 480x360]

Renders the scene once (tests/support/scene3d.py: a textured box in a textured room, the cameras on a
full orbit around it, 9° apart) and caches the JPEGs in the work directory. Each tool runs in its own
process, interleaved with the other, on one shared camera (the images are one size): omnidrop's
`reconstruct()` (SIFT, exhaustive matching for a photo set of this size, incremental mapping) and
`colmap automatic_reconstructor --data_type individual --single_camera 1 --use_gpu 0 --sparse 1
--dense 0`, whose largest model is read back with pycolmap. Prints a Markdown table: median wall and
CPU time, peak RSS, registered images, 3D points, mean reprojection error, and the camera-centre error
after a similarity alignment to the true path (percent of the path's extent).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

OMNIDROP = """
import json, sys
from pathlib import Path
from omnidrop.pipeline.reconstruction import reconstruct
images = Path(sys.argv[1])
names = sorted(p.name for p in images.glob("*.jpg"))
result = reconstruct(images, names, Path(sys.argv[2]), video=False)
print(json.dumps({"sparse": str(Path(sys.argv[2]) / "sparse"), "matcher": result["matcher"]}))
"""


def render(workdir: Path, views: int, size: tuple[int, int]) -> tuple[Path, dict[str, np.ndarray]]:
    from tests.support.scene3d import orbit

    images = workdir / f"orbit_{views}_{size[0]}x{size[1]}"
    truth_file = images / "truth.json"
    if not truth_file.exists():
        print(f"rendering {views} views at {size[0]}x{size[1]} ...", file=sys.stderr)
        images.mkdir(parents=True, exist_ok=True)
        rendered = orbit(views, size=size)
        for view in rendered:
            view.image.save(images / view.name, quality=92)
        truth_file.write_text(json.dumps({v.name: v.centre.tolist() for v in rendered}))
    truth = {k: np.array(v) for k, v in json.loads(truth_file.read_text()).items()}
    return images, truth


def measured(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[0]} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def largest_model(folder: Path):
    import pycolmap

    models = [pycolmap.Reconstruction(p) for p in sorted(folder.iterdir()) if (p / "images.bin").exists()
              or (p / "images.txt").exists()]
    return max(models, key=lambda m: m.num_reg_images()) if models else None


def score(model, truth: dict[str, np.ndarray]) -> dict:
    from tests.support.scene3d import umeyama

    if model is None:
        return {"registered": 0, "points": 0, "error": float("nan"), "centres": float("nan")}
    names = sorted(model.image(i).name for i in model.reg_image_ids())
    est = np.array([model.find_image_with_name(n).projection_center() for n in names])
    tru = np.array([truth[n] for n in names])
    s, r, t = umeyama(est, tru)
    err = np.linalg.norm((s * (r @ est.T)).T + t - tru, axis=1).max()
    all_true = np.array(list(truth.values()))
    extent = np.linalg.norm(all_true[:, None] - all_true[None], axis=-1).max()
    return {"registered": len(names), "points": model.num_points3D(),
            "error": model.compute_mean_reprojection_error(), "centres": 100 * err / extent}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "omnidrop-bench-recon")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--views", type=int, default=40)
    parser.add_argument("--size", default="480x360")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    images, truth = render(args.workdir, args.views, size)
    colmap = shutil.which("colmap")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    samples: dict[str, list[dict]] = {"omnidrop (pycolmap 4.2.1)": [], "colmap CLI (Debian)": []}
    for _ in range(args.runs):
        for tool in samples:
            out = Path(tempfile.mkdtemp(prefix="recon-", dir=args.workdir))
            try:
                if tool.startswith("omnidrop"):
                    wall, cpu, rss, printed = measured([sys.executable, "-c", OMNIDROP, str(images), str(out)], env)
                    model = largest_model(Path(json.loads(printed.strip().splitlines()[-1])["sparse"]).parent
                                          / "models")
                else:
                    if colmap is None:
                        continue
                    wall, cpu, rss, _ = measured([colmap, "automatic_reconstructor", "--workspace_path", str(out),
                                                  "--image_path", str(images), "--data_type", "individual",
                                                  "--single_camera", "1", "--use_gpu", "0", "--sparse", "1",
                                                  "--dense", "0"])
                    model = largest_model(out / "sparse")
                samples[tool].append({"wall": wall, "cpu": cpu, "rss": rss, **score(model, truth)})
            finally:
                shutil.rmtree(out, ignore_errors=True)
    reference = statistics.median(s["wall"] for s in samples["colmap CLI (Debian)"]) \
        if samples["colmap CLI (Debian)"] else None
    print(f"{args.views} views, {size[0]}x{size[1]}, {args.runs} run(s), {os.cpu_count()} CPUs\n")
    print("| tool | wall s | CPU s | peak RSS MiB | registered | 3D points | mean reproj. error px "
          "| centre error % of path | wall vs colmap |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for tool, rows in samples.items():
        if not rows:
            print(f"| {tool} | not installed | | | | | | | |")
            continue
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        ratio = f"{med['wall'] / reference:.2f}x" if reference else "-"
        print(f"| {tool} | {med['wall']:.1f} | {med['cpu']:.1f} | {med['rss']:.0f} | {med['registered']:.0f}/"
              f"{args.views} | {med['points']:.0f} | {med['error']:.3f} | {med['centres']:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
