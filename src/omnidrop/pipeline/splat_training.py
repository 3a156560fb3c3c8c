"""The `capture.train` job: a posed capture's Gaussian splat, trained with gsplat on a GPU worker.

Queued on the `gpu` queue by `capture.process` once the capture has camera poses; only workers started
with `omnidrop worker --queue gpu` (which refuse to start without CUDA) consume that queue, so on a
server without one the job simply waits, and the capture (FINISHED, with its poses and sparse cloud)
says so. The job:

1. fetches the registered frames and the COLMAP text export, undistorts them to a PINHOLE model
   (pycolmap), and trains in a child process (pipeline/training/trainer.py; progress 5..90 %), cropped to
   the capture's focus_area when its model is geo-registered (pipeline/training/focus.py);
2. writes the standard 3DGS `.ply` and `.spz` (gsply) and the `sogs-sh0` profile (splat-transform);
3. stores them under `captures/{eid}/splat/` (fixed names: a re-run overwrites) and records them as the
   capture's `models` (profile, size, aabb) and its `splat` (held-out PSNR, steps, Gaussians, the focus
   crop's account, notes: among them what became of the focus_area);
4. stores the turntable video the trainer rendered (`turntable.mp4`, unless
   `capture_turntable_frames` is 0) and records its key as `video_key` (the Captures API's `video_url`
   and `share_video_url`); a turntable that could not be rendered leaves the splat as it is, with a note
   saying why.

The capture stays FINISHED throughout; its `state_description` follows the splat (training, trained,
or why training failed).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import update

from omnidrop.captures.service import FINISHED, outputs_prefix
from omnidrop.db.models import Capture
from omnidrop.jobs.errors import JobFailed
from omnidrop.jobs.outputs import keep_only
from omnidrop.jobs.runner import JobContext
from omnidrop.pipeline.blobs import put_file
from omnidrop.pipeline.capture_processing import posed_summary
from omnidrop.pipeline.child import run_step
from omnidrop.pipeline.reconstruction import TEXT_FILES
from omnidrop.pipeline.training.focus import FocusCrop, focus_crop
from omnidrop.pipeline.training.options import TrainOptions, focus_note, training_options
from omnidrop.pipeline.training.turntable import TURNTABLE
from omnidrop.pipeline.training.writers import splat_transform_command, write_sogs_sh0

SOG_ZIP = "sogs-sh0.zip"


def splat_keys(eid: str) -> dict[str, str]:
    prefix = f"{outputs_prefix(eid)}/splat"
    return {"ply": f"{prefix}/splat.ply", "spz": f"{prefix}/splat.spz", "sogs-sh0": f"{prefix}/{SOG_ZIP}",
            "video": f"{prefix}/{TURNTABLE}"}


async def run(ctx: JobContext) -> None:
    from omnidrop.pipeline.training.trainer import PLY, SPZ, cuda_problem, train_splat

    eid = ctx.job.subject_id
    async with ctx.services.db.read() as s:
        capture = await s.get(Capture, eid)
    if capture is None:
        return  # deleted meanwhile
    recon = (capture.outputs or {}).get("reconstruction") or {}
    if recon.get("state") != "done":
        raise JobFailed("no_poses", "the capture has no camera poses to train a splat from")
    try:  # before the CUDA check: parameters no worker can use fail for good on any worker
        options = training_options(capture.training_parameters, ctx.settings.capture_splat_steps,
                                   ctx.settings.capture_turntable_frames)
    except ValueError as exc:
        raise JobFailed("invalid_training_parameters", str(exc)) from None
    crop = planned_crop(recon, options)
    problem = await asyncio.to_thread(cuda_problem)
    if problem:  # a worker that should not consume the gpu queue: another attempt, elsewhere
        raise RuntimeError(f"this worker cannot train splats: {problem}")
    await _describe(ctx, eid, f"{posed_summary(recon)}; training the splat")

    store, keys = ctx.services.store, splat_keys(eid)
    workdir = Path(tempfile.mkdtemp(prefix=f"omnidrop-splat-{eid}-"))
    try:
        frames, sparse, out = workdir / "frames", workdir / "sparse", workdir / "out"
        for folder in (frames, sparse, out):
            folder.mkdir()
        by_name = {f["name"]: f for f in (capture.outputs or {}).get("frames", [])}
        for f in recon["frames"]:
            await _fetch(store, by_name[f["name"]]["key"], frames / f["name"])
        for name in TEXT_FILES:
            await _fetch(store, recon["keys"][name], sparse / name)
        undistorted = workdir / "undistorted"
        await asyncio.to_thread(_undistort, sparse, frames, undistorted)
        await ctx.progress(0.05)

        def work(progress):
            return run_step(ctx.settings, train_splat, undistorted / "sparse", undistorted / "images", out, options,
                            progress=progress, crop=crop)

        stats = await ctx.on_thread(work, start=0.05, end=0.9)
        command = splat_transform_command(ctx.settings.splat_transform)
        await asyncio.to_thread(write_sogs_sh0, out / PLY, out / SOG_ZIP, command)
        files = {"ply": out / PLY, "spz": out / SPZ, "sogs-sh0": out / SOG_ZIP}
        if stats.get("turntable"):
            files["video"] = out / stats["turntable"]
        for profile, path in files.items():
            await put_file(store, keys[profile], path)
        # What this run wrote, and nothing else: a turntable this run could not render does not survive
        # from an earlier one.
        await keep_only(store, f"{outputs_prefix(eid)}/splat", {keys[name] for name in files})
        sizes = {profile: path.stat().st_size for profile, path in files.items()}
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
        async with ctx.services.db.read() as s:
            gone = await s.get(Capture, eid) is None
        if gone:  # deleted while it trained: what this run wrote after the delete goes too
            await store.delete_prefix(outputs_prefix(eid))
    if gone:
        return

    models = [{"profile": profile, "key": keys[profile], "size": sizes[profile], "id": f"splat-{profile}",
               "aabb": stats["aabb"], "lod": False} for profile in ("ply", "sogs-sh0")]
    note = focus_note(options, stats.get("focus"), recon.get("geo_reason"))
    notes = [*options.notes, *([note] if note else [])]
    if stats.get("turntable_error"):
        notes.append(f"turntable video not rendered: {stats['turntable_error']}")
    splat = {k: v for k, v in stats.items() if k not in ("turntable", "turntable_error")}
    splat.update({"spz_key": keys["spz"], "spz_size": sizes["spz"], "notes": notes})
    video_key = keys["video"] if "video" in files else None
    psnr = f", held-out PSNR {stats['psnr']:.2f} dB" if stats.get("psnr") is not None else ""
    await _record(ctx, eid, models, splat,
                  f"{posed_summary(recon)}; splat trained ({stats['gaussians']} Gaussians{psnr})", video_key)
    await ctx.progress(1.0)


def planned_crop(recon: dict, options: TrainOptions) -> FocusCrop | None:
    """The focus area's crop in the capture's model: only for a box on a geo-registered model."""
    if options.focus_area is None or not recon.get("geo"):
        return None
    return focus_crop(options.focus_area, recon["geo"])


SPLAT_OUTPUTS = ("models", "splat", "video_key")  # what a capture records of its splat


async def failed(ctx: JobContext, code: str, message: str) -> None:
    """The capture keeps its frames and poses (it stays FINISHED); its description says the splat failed.
    An earlier run's splat is forgotten first, then its files go (rows before blobs: no URL is ever
    signed for a removed file)."""
    eid = ctx.job.subject_id
    async with ctx.services.db.write() as s:
        capture = await s.get(Capture, eid)
        if capture is None:
            return
        recon = (capture.outputs or {}).get("reconstruction") or {}
        summary = posed_summary(recon) if recon.get("state") == "done" else "no camera poses"
        outputs = {k: v for k, v in (capture.outputs or {}).items() if k not in SPLAT_OUTPUTS}
        await s.execute(update(Capture).where(Capture.eid == eid, Capture.state == FINISHED).values(
            outputs=outputs, state_description=f"{summary}; splat training failed ({code}): {message}"))
    await ctx.services.store.delete_prefix(f"{outputs_prefix(eid)}/splat")


async def _describe(ctx: JobContext, eid: str, description: str) -> None:
    async with ctx.services.db.write() as s:
        await s.execute(update(Capture).where(Capture.eid == eid, Capture.state == FINISHED)
                        .values(state_description=description))


async def _record(ctx: JobContext, eid: str, models: list, splat: dict, description: str,
                  video_key: str | None = None) -> None:
    """The splat's models and account, and its turntable video's key (`video_key`, dropped when this run
    rendered none)."""
    async with ctx.services.db.write() as s:
        capture = await s.get(Capture, eid)
        if capture is None:
            return
        outputs = {k: v for k, v in (capture.outputs or {}).items() if k != "video_key"}
        outputs.update({"models": models, "splat": splat, **({"video_key": video_key} if video_key else {})})
        await s.execute(update(Capture).where(Capture.eid == eid)
                        .values(outputs=outputs, state_description=description))


async def _fetch(store, key: str, dest: Path) -> None:
    with dest.open("wb") as f:
        async for chunk in store.read(key):
            f.write(chunk)


def _undistort(sparse: Path, frames: Path, dest: Path) -> None:
    """The model and frames as an undistorted PINHOLE model (what the rasterizer projects with)."""
    import pycolmap

    shutil.rmtree(dest, ignore_errors=True)
    pycolmap.undistort_images(dest, sparse, frames)
