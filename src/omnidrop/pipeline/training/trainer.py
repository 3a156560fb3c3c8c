"""Gaussian splat training with gsplat's library API (CUDA only): `train_splat(model_dir, out_dir, options)`.

The loop is gsplat's `simple_trainer` reduced to one camera per step: Gaussians start at the sparse
points (colour from the points, scale from the mean distance to the 3 nearest, opacity 0.1), are
rendered with `gsplat.rasterization` (spherical harmonics raised one band every `sh_degree_interval`
steps up to `sh_degree`), optimised with Adam on 0.8 x L1 + 0.2 x (1 - SSIM), and densified/pruned by
gsplat's `DefaultStrategy`. Every `test_every`-th view is held out and scored by PSNR at the end.
With a focus crop (a geo-registered capture's focus_area, pipeline/training/focus.py) it starts only from
the points inside it and writes only the Gaussians inside it; the result's `focus` says what was kept.
Then, unless the options turn it off, gsplat renders one full turn around the written Gaussians as
`turntable.mp4` (pipeline/training/turntable.py); a failure there leaves the splat as it is and is
returned as `turntable_error`.

torch and gsplat come from the optional `[gpu]` extra and are imported only inside these functions,
so nothing else in omnidrop needs them. This module cannot run without CUDA; its CPU-testable parts
(options, writers) live beside it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from omnidrop.pipeline.training.focus import FocusCrop, crop_points, crop_splat
from omnidrop.pipeline.training.options import TrainOptions
from omnidrop.pipeline.training.turntable import TURNTABLE, orbit_cameras, render_turntable, video_size
from omnidrop.pipeline.training.writers import Splat, write_ply, write_spz

PLY, SPZ = "splat.ply", "splat.spz"
log = logging.getLogger(__name__)


def cuda_problem() -> str | None:
    """Why this machine cannot train splats (None when it can): the `[gpu]` extra missing, or no CUDA device."""
    try:
        import torch
    except ImportError:
        return "torch is not installed: install omnidrop with its [gpu] extra (pip install 'omnidrop[gpu]')"
    try:
        import gsplat  # noqa: F401
    except ImportError:
        return "gsplat is not installed: install omnidrop with its [gpu] extra (pip install 'omnidrop[gpu]')"
    if not torch.cuda.is_available():
        return f"no CUDA device is available to torch {torch.__version__} (CUDA build: {torch.version.cuda or 'none'})"
    return None


def load_views(model_dir: Path, images_dir: Path) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """(views sorted by name: {name, K 3x3, viewmat 4x4 world-to-camera, width, height}, points (M, 3),
    colours (M, 3) uint8) of an undistorted (PINHOLE) COLMAP model."""
    import pycolmap

    model = pycolmap.Reconstruction(model_dir)
    views = []
    for image_id in model.reg_image_ids():
        image = model.image(image_id)
        camera = model.camera(image.camera_id)
        viewmat = np.eye(4)
        viewmat[:3, :] = image.cam_from_world().matrix()
        views.append({"name": image.name, "path": images_dir / image.name, "K": np.asarray(camera.calibration_matrix()),
                      "viewmat": viewmat, "width": camera.width, "height": camera.height})
    views.sort(key=lambda v: v["name"])
    points = np.array([p.xyz for p in model.points3D.values()], dtype=np.float32).reshape(-1, 3)
    colours = np.array([p.color for p in model.points3D.values()], dtype=np.uint8).reshape(-1, 3)
    return views, points, colours


def split_views(count: int, test_every: int) -> tuple[list[int], list[int]]:
    """(train indices, held-out indices): every `test_every`-th view is held out, at least one when there
    are three views or more, never all."""
    held = [i for i in range(count) if i % test_every == 0] if count >= 3 else []
    if count >= 3 and len(held) == count:
        held = held[:1]
    return [i for i in range(count) if i not in held], held


def train_splat(model_dir: Path, images_dir: Path, out_dir: Path, options: TrainOptions,
                progress: Callable[[float], None] | None = None, crop: FocusCrop | None = None) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F
    from gsplat import rasterization
    from gsplat.strategy import DefaultStrategy
    from PIL import Image

    report = progress or (lambda f: None)
    started = time.monotonic()
    device = torch.device("cuda")
    torch.manual_seed(0)
    views, points, colours = load_views(model_dir, images_dir)
    if len(points) == 0:
        raise ValueError("the model has no 3D points to start the splat from")
    points, colours, kept_crop = crop_points(points, colours, crop)
    train_ids, test_ids = split_views(len(views), options.test_every)
    images = [torch.from_numpy(np.asarray(Image.open(v["path"]).convert("RGB"), dtype=np.float32) / 255.0)
              for v in views]
    Ks = [torch.tensor(v["K"], dtype=torch.float32, device=device) for v in views]
    viewmats = [torch.tensor(v["viewmat"], dtype=torch.float32, device=device) for v in views]
    centres = np.array([np.linalg.inv(v["viewmat"])[:3, 3] for v in views])
    scene_scale = float(np.linalg.norm(centres - centres.mean(0), axis=1).max()) * 1.1 or 1.0

    # Initialisation from the sparse points (as simple_trainer's "sfm" init).
    means = torch.tensor(points, device=device)
    dist2 = _knn_sq_dist(means, 3).mean(-1).clamp_min(1e-12)
    scales = torch.log(torch.sqrt(dist2) * options.init_scale)[:, None].repeat(1, 3)
    n = len(means)
    quats = torch.rand((n, 4), device=device)
    opacities = torch.logit(torch.full((n,), options.init_opacity, device=device))
    rgb = torch.tensor(colours, dtype=torch.float32, device=device) / 255.0
    sh0 = ((rgb - 0.5) / 0.28209479177387814)[:, None, :]
    shN = torch.zeros((n, (options.sh_degree + 1) ** 2 - 1, 3), device=device)
    params = torch.nn.ParameterDict({
        "means": torch.nn.Parameter(means), "scales": torch.nn.Parameter(scales),
        "quats": torch.nn.Parameter(quats), "opacities": torch.nn.Parameter(opacities),
        "sh0": torch.nn.Parameter(sh0), "shN": torch.nn.Parameter(shN),
    })
    rates = {"means": 1.6e-4 * scene_scale, "scales": 5e-3, "quats": 1e-3, "opacities": 5e-2,
             "sh0": 2.5e-3, "shN": 2.5e-3 / 20}
    optimizers = {name: torch.optim.Adam([{"params": params[name], "lr": lr, "name": name}], eps=1e-15)
                  for name, lr in rates.items()}
    means_schedule = torch.optim.lr_scheduler.ExponentialLR(optimizers["means"], gamma=0.01 ** (1.0 / options.steps))
    strategy = DefaultStrategy(**options.strategy_kwargs())
    strategy.check_sanity(params, optimizers)
    state = strategy.initialize_state(scene_scale=scene_scale)

    def render(i: int, sh_degree: int):
        v = views[i]
        colours_sh = torch.cat([params["sh0"], params["shN"]], 1)
        out, _alpha, info = rasterization(
            means=params["means"], quats=params["quats"], scales=torch.exp(params["scales"]),
            opacities=torch.sigmoid(params["opacities"]), colors=colours_sh, viewmats=viewmats[i][None],
            Ks=Ks[i][None], width=v["width"], height=v["height"], sh_degree=sh_degree, packed=False,
            absgrad=strategy.absgrad,
        )
        return out[0], info

    order = torch.randperm(len(train_ids)).tolist()
    for step in range(options.steps):
        i = train_ids[order[step % len(order)]]
        if step % len(order) == len(order) - 1:
            order = torch.randperm(len(train_ids)).tolist()
        sh_degree = min(step // options.sh_degree_interval, options.sh_degree)
        rendered, info = render(i, sh_degree)
        truth = images[i].to(device)
        strategy.step_pre_backward(params, optimizers, state, step, info)
        l1 = F.l1_loss(rendered, truth)
        loss = l1 * (1 - options.ssim_lambda) + (1 - _ssim(rendered, truth)) * options.ssim_lambda
        loss.backward()
        for optimizer in optimizers.values():
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        means_schedule.step()
        strategy.step_post_backward(params, optimizers, state, step, info, packed=False)
        if step % 50 == 0:
            report(0.95 * step / options.steps)

    with torch.no_grad():
        scores = []
        for i in test_ids:
            rendered, _ = render(i, options.sh_degree)
            mse = F.mse_loss(rendered.clamp(0, 1), images[i].to(device)).item()
            scores.append(10 * math.log10(1.0 / max(mse, 1e-12)))
        splat = Splat(*(params[k].detach().cpu().numpy() for k in ("means", "scales", "quats", "opacities")),
                      sh0=params["sh0"].detach()[:, 0, :].cpu().numpy(), shN=params["shN"].detach().cpu().numpy())
    splat, focus = crop_splat(splat.finite(), kept_crop, missed=crop is not None and kept_crop is None)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_ply(splat, out_dir / PLY)
    write_spz(splat, out_dir / SPZ)
    turntable, turntable_error = write_turntable_of(splat, views, points, options, out_dir, device)
    report(1.0)
    return {"psnr": round(float(np.mean(scores)), 3) if scores else None,
            "held_out": [views[i]["name"] for i in test_ids], "steps": options.steps, "gaussians": len(splat),
            "aabb": splat.aabb(), "seconds": round(time.monotonic() - started, 1), "focus": focus,
            "turntable": turntable, "turntable_error": turntable_error}


def write_turntable_of(splat: Splat, views: list[dict[str, Any]], points: np.ndarray, options: TrainOptions,
                       out_dir: Path, device) -> tuple[str | None, str | None]:
    """One full turn around the trained splat (the Gaussians as written), rendered by gsplat, as
    `out_dir/turntable.mp4`: (its name, None). The splat stands without it: a failure is logged and
    answered (None, why), never raised; (None, None) when the options turn the turntable off."""
    if options.turntable_frames <= 0:
        return None, None
    path = out_dir / TURNTABLE
    try:
        width, height = video_size(views[0]["width"], views[0]["height"], options.turntable_short_side)
        cameras = orbit_cameras([v["viewmat"] for v in views], [v["K"] for v in views],
                                [(v["width"], v["height"]) for v in views], options.turntable_frames, width, height,
                                points=points)
        render_turntable(_splat_renderer(splat, options.sh_degree, device), cameras, path, options.turntable_fps)
    except Exception as exc:
        log.warning("the turntable video was not rendered", exc_info=True)
        path.unlink(missing_ok=True)
        return None, f"{type(exc).__name__}: {exc}"
    return TURNTABLE, None


def _splat_renderer(splat: Splat, sh_degree: int, device) -> Callable[[np.ndarray, np.ndarray, int, int], np.ndarray]:
    """render(viewmat, K, width, height) -> (H, W, 3) uint8: gsplat's rasterization of `splat` (activated
    as in training: exp scales, sigmoid opacities, SH up to `sh_degree`) over a black background."""
    import torch
    from gsplat import rasterization

    def tensor(array: np.ndarray):
        return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32, device=device)

    means, quats, scales = tensor(splat.means), tensor(splat.quats), torch.exp(tensor(splat.scales))
    opacities = torch.sigmoid(tensor(splat.opacities).reshape(-1))
    colours = torch.cat([tensor(splat.sh0)[:, None, :], tensor(splat.shN)], 1)
    black = torch.zeros((1, 3), device=device)

    @torch.no_grad()
    def render(viewmat: np.ndarray, K: np.ndarray, width: int, height: int) -> np.ndarray:
        out, _alpha, _info = rasterization(
            means=means, quats=quats, scales=scales, opacities=opacities, colors=colours,
            viewmats=tensor(viewmat)[None], Ks=tensor(K)[None], width=width, height=height, sh_degree=sh_degree,
            packed=False, backgrounds=black,
        )
        return (out[0].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()

    return render


def _knn_sq_dist(points, k: int, chunk: int = 4096):
    """Squared distances from each point to its k nearest others (chunked brute force on the GPU)."""
    import torch

    out = []
    for start in range(0, len(points), chunk):
        d = torch.cdist(points[start:start + chunk], points).pow(2)
        out.append(d.topk(min(k + 1, len(points)), largest=False).values[:, 1:])
    return torch.cat(out)


def _ssim(a, b, window: int = 11, sigma: float = 1.5):
    """SSIM of two (H, W, 3) images in [0, 1] with a Gaussian window (as in the 3DGS paper's loss)."""
    import torch
    import torch.nn.functional as F

    x, y = a.permute(2, 0, 1)[None], b.permute(2, 0, 1)[None]
    g = torch.exp(-((torch.arange(window, device=a.device) - window // 2) ** 2) / (2 * sigma ** 2))
    g = (g / g.sum())
    kernel = (g[:, None] @ g[None, :]).expand(3, 1, window, window).contiguous()

    def blur(t):
        return F.conv2d(t, kernel, padding=window // 2, groups=3)

    mu_x, mu_y = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mu_x ** 2, blur(y * y) - mu_y ** 2, blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    score = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return score.mean()
