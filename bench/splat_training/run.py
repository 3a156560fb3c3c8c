"""Splat training on the rendered 40-view scene: omnidrop's gsplat trainer, for real, on a CUDA machine.

    python bench/splat_training/run.py prepare --workdir DIR [--views 40] [--size 480x360]
    python bench/splat_training/run.py train --scene DIR/scene --out DIR/out [--steps 7000 --steps 30000]
                                             [--budget-s 480]

`prepare` needs no GPU: it renders (and caches) the scene of the poses benchmark with that benchmark's
`render` (bench/reconstruction/run.py), runs omnidrop's camera poses on it
(`pipeline.reconstruction.reconstruct`) and undistorts the model and frames to the PINHOLE scene the
GPU worker trains from (with the worker's own `pipeline.splat_training._undistort`), so the GPU machine
needs only the result.

`train` runs `pipeline.training.trainer.train_splat` once per `--steps`, with the options a capture
without `training_parameters` gets (`training_options(None, steps)`: gsplat's defaults, densification
scaled to the step count), and writes `splat.ply`, `splat.spz` and `turntable.mp4` per run. It prints
one JSON line per run (held-out PSNR, training seconds, Gaussians, peak GPU memory) and a Markdown table.
The kernel build (gsplat compiles its CUDA code on first import) is timed apart from the training.
A run whose predicted time (from the run before it) would pass `--budget-s` is skipped and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))


def prepare(workdir: Path, views: int, size: tuple[int, int]) -> None:
    import pycolmap

    from bench.reconstruction.run import render
    from omnidrop.pipeline.reconstruction import reconstruct
    from omnidrop.pipeline.splat_training import _undistort

    images, _truth = render(workdir, views, size)
    names = sorted(p.name for p in images.glob("*.jpg"))
    started = time.monotonic()
    result = reconstruct(images, names, workdir / "poses", video=False)
    scene = workdir / "scene"
    _undistort(workdir / "poses" / "sparse", images, scene)
    model = pycolmap.Reconstruction(scene / "sparse")
    print(json.dumps({"scene": str(scene), "views": views, "registered": model.num_reg_images(),
                      "points": model.num_points3D(), "matcher": result["matcher"],
                      "poses_seconds": round(time.monotonic() - started, 1)}))


def train(scene: Path, out: Path, steps_list: list[int], budget_s: float) -> None:
    from omnidrop.pipeline.training.options import training_options
    from omnidrop.pipeline.training.trainer import cuda_problem, train_splat

    started = time.monotonic()
    problem = cuda_problem()
    if problem:
        sys.exit(f"cannot train here: {problem}")
    import gsplat
    import torch
    from gsplat.cuda._backend import _C  # builds gsplat's kernels on first use

    if _C is None:
        sys.exit("gsplat's CUDA kernels did not build")
    build_s = time.monotonic() - started
    machine = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
               "gsplat": gsplat.__version__, "kernel_build_s": round(build_s, 1)}
    print(json.dumps(machine), flush=True)
    rows, per_step = [], None
    for steps in steps_list:
        if per_step is not None and per_step * steps * 1.2 > budget_s - (time.monotonic() - started):
            print(json.dumps({"steps": steps, "skipped": f"predicted {per_step * steps:.0f} s would pass the budget"}))
            continue
        torch.cuda.reset_peak_memory_stats()
        result = train_splat(scene / "sparse", scene / "images", out / f"steps_{steps}", training_options(None, steps))
        result["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2 ** 20)
        result["files"] = {p.name: p.stat().st_size for p in sorted((out / f"steps_{steps}").iterdir())}
        per_step = result["seconds"] / steps
        print(json.dumps({"steps": steps, **result}), flush=True)
        rows.append(result)
    print(f"\n{machine['gpu']}, torch {machine['torch']} (CUDA {machine['cuda']}), gsplat {machine['gsplat']}; "
          f"kernel build {machine['kernel_build_s']} s\n")
    print("| steps | held-out PSNR (dB) | views held out | Gaussians | training s (incl. turntable) | peak GPU MiB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['steps']} | {r['psnr']} | {len(r['held_out'])} | {r['gaussians']} | {r['seconds']} "
              f"| {r['peak_gpu_mib']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--views", type=int, default=40)
    p.add_argument("--size", default="480x360")
    t = sub.add_parser("train")
    t.add_argument("--scene", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--steps", type=int, action="append")
    t.add_argument("--budget-s", type=float, default=float("inf"))
    args = parser.parse_args()
    if args.command == "prepare":
        width, height = (int(v) for v in args.size.split("x"))
        prepare(args.workdir, args.views, (width, height))
    else:
        train(args.scene, args.out, args.steps or [7000], args.budget_s)


if __name__ == "__main__":
    main()
