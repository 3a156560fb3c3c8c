"""A CPU stand-in for the GPU worker's trainer, for tests of what surrounds it (gsplat needs CUDA).

`points_splat` makes a splat of Gaussians sitting on given points (round, nearly opaque, in the points'
colours); `sparse_point_trainer` is a `train_splat` that makes one from the undistorted model it is
handed, so the splat lies where the capture's cameras and sparse cloud are, and writes what the real
trainer writes (PLY, SPZ and, unless the settings turn it off, the turntable drawn by the trainer's own
step with a numpy point renderer in place of gsplat's)."""

from __future__ import annotations

import numpy as np

from tests.support.point_render import point_renderer

SH_C0 = 0.28209479177387814


def points_splat(points: np.ndarray, colours: np.ndarray, scale: float):
    from omnidrop.pipeline.training.writers import Splat

    n = len(points)
    return Splat(points.astype(np.float32), np.full((n, 3), np.log(scale), np.float32),
                 np.tile(np.array([1.0, 0, 0, 0], np.float32), (n, 1)), np.full(n, 3.0, np.float32),
                 ((colours / 255.0 - 0.5) / SH_C0).astype(np.float32), np.zeros((n, 0, 3), np.float32))


def splat_renderer(splat, sh_degree, device):
    """The trainer's `_splat_renderer` on CPU: the Gaussians' centres as coloured points."""
    colours = np.clip((splat.sh0 * SH_C0 + 0.5) * 255, 0, 255).astype(np.uint8)
    return point_renderer(splat.means, colours)


def sparse_point_trainer(model_dir, images_dir, out_dir, options, progress=None, crop=None):
    from omnidrop.pipeline.training import trainer
    from omnidrop.pipeline.training.writers import write_ply, write_spz

    views, points, colours = trainer.load_views(model_dir, images_dir)
    centres = np.array([np.linalg.inv(v["viewmat"])[:3, 3] for v in views])
    splat = points_splat(points, colours, scale=0.004 * float(np.ptp(centres, axis=0).max()))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_ply(splat, out_dir / trainer.PLY)
    write_spz(splat, out_dir / trainer.SPZ)
    turntable, error = trainer.write_turntable_of(splat, views, points, options, out_dir, "cpu")
    return {"psnr": 21.5, "held_out": [views[0]["name"]], "steps": options.steps, "gaussians": len(splat),
            "aabb": splat.aabb(), "seconds": 1.0, "focus": None, "turntable": turntable, "turntable_error": error}


def install(monkeypatch, train=sparse_point_trainer) -> None:
    """Makes this process a 'GPU worker' whose trainer is `train`, its turntable drawn on CPU."""
    from omnidrop.pipeline.training import trainer

    monkeypatch.setattr(trainer, "cuda_problem", lambda: None)
    monkeypatch.setattr(trainer, "train_splat", train)
    monkeypatch.setattr(trainer, "_splat_renderer", splat_renderer)
