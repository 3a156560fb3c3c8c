"""The `vehicle.frames` job: validate a vehicle side video by content, extract JPEG frames at the
configured rate (5 fps by default) into the blob store, and run the damage detector when one is set.

Idempotent: frame names follow from the video (frame_0001.jpg…, the same on every run), blobs are
overwritten in place and mask rows upserted, so a worker killed at any point is simply re-run.
Progress: extraction 0..70 %, storing frames 70..85 %, masks 85..100 %.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from PIL import Image
from sqlalchemy import update

from omnidrop.db.clock import db_time
from omnidrop.db.models import Vehicle, VehicleVideo
from omnidrop.jobs.errors import JobFailed
from omnidrop.jobs.outputs import Outputs, keep_only, rows_with_ids
from omnidrop.jobs.runner import JobContext
from omnidrop.pipeline.blobs import local_copy, put_file
from omnidrop.pipeline.child import run_step
from omnidrop.pipeline.masks.loading import configured_detector
from omnidrop.pipeline.masks.records import DETECTOR, save_masks
from omnidrop.pipeline.media.probe import VideoRejected, probe
from omnidrop.pipeline.video_frames import extract_video_frames
from omnidrop.vehicles.service import FAILED, PROCESSING, READY, video_prefix

EXTRACT, STORE = 0.70, 0.85  # where each phase ends on the progress scale


async def run(ctx: JobContext) -> None:
    db, store = ctx.services.db, ctx.services.store
    async with db.read() as s:
        video = await s.get(VehicleVideo, ctx.job.subject_id)
        vehicle = await s.get(Vehicle, video.vehicle_id) if video else None
    if video is None or vehicle is None or video.state in (READY, FAILED):
        return
    if video.blob_key is None:
        raise JobFailed("video_removed", "the video was cleaned up before it was processed")
    await _set(ctx, video.id, state=PROCESSING)
    workdir = Path(tempfile.mkdtemp(prefix=f"omnidrop-vehicle-{video.id}-"))
    try:
        frames_dir = workdir / "frames"
        frames_dir.mkdir()
        async with local_copy(store, video.blob_key, workdir) as path:
            names, skipped = await _extract(ctx, path, frames_dir)
        written = [f"{video.frames_prefix}/{name}" for name in names]
        for i, (key, name) in enumerate(zip(written, names), 1):
            await put_file(store, key, frames_dir / name)
            await ctx.progress(EXTRACT + (STORE - EXTRACT) * i / len(names))
        # Frames an earlier attempt or run made that this one did not (a changed frame rate, a dead
        # attempt that read further): after this attempt's own frames are stored.
        await keep_only(store, video.frames_prefix, written)
        await _detect(ctx, video, video_prefix(vehicle.uuid, video.side, video.id), frames_dir, names)
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
    await _set(ctx, video.id, state=READY, frame_count=len(names), processed_at=db_time(0), error_code=None,
               error_message=None, decode_skipped=skipped or None)


async def failed(ctx: JobContext, code: str, message: str) -> None:
    # The frames the attempts stored go after this (the runner, by OUTPUTS).
    await _set(ctx, ctx.job.subject_id, state=FAILED, error_code=code, error_message=message)


async def _set(ctx: JobContext, video_id: str, **values) -> None:
    async with ctx.services.db.write() as s:
        await s.execute(update(VehicleVideo).where(VehicleVideo.id == video_id).values(**values))


async def _extract(ctx: JobContext, path: Path, dest: Path) -> tuple[list[str], list[dict]]:
    """Probe by content, then decode on a thread while this task reports its progress. Also returns
    the stretches the decoder refused (skipped; every frame around them is delivered)."""
    try:
        await asyncio.to_thread(run_step, ctx.settings, probe, path)  # decodes a frame: in a child too
    except VideoRejected as exc:
        raise JobFailed(exc.code, exc.reason) from None
    result = await extract_video_frames(ctx, path, dest, fps=ctx.settings.vehicle_frames_fps,
                                        quality=ctx.settings.vehicle_frame_quality, progress_end=EXTRACT)
    return list(result.names), [span.as_dict() for span in result.corrupt]


async def _detect(ctx: JobContext, video: VehicleVideo, prefix: str, frames_dir: Path, names: list[str]) -> None:
    detector = await asyncio.to_thread(configured_detector, ctx.settings)
    if detector is None:
        return
    for i, name in enumerate(names, 1):
        image = await asyncio.to_thread(lambda: Image.open(frames_dir / name).convert("RGB"))
        found = await asyncio.to_thread(detector.detect, image)
        await save_masks(ctx.services.db, ctx.services.store, video.id, f"{prefix}/masks", name, image, found,
                         DETECTOR, ctx.settings.vehicle_frame_quality)
        await ctx.progress(STORE + (1 - STORE) * i / len(names))




# Where the job's outputs live (jobs/outputs.py): vehicles/<uuid>/<side>/<video id>/frames|masks/...
# The uploaded video lies beside them and is not an output: it is never matched here.
OUTPUT_DIRS = ("frames", "masks")


async def _failed_outputs(services, video_id: str) -> list[str]:
    """Frames of a video that failed for good belong to no ready video: nothing would list them."""
    async with services.db.read() as s:
        video = await s.get(VehicleVideo, video_id)
    return [video.frames_prefix] if video is not None else []


def _video_of(key: str) -> tuple[str, str] | None:
    parts = key.split("/")
    if len(parts) >= 6 and parts[0] == "vehicles" and parts[4] in OUTPUT_DIRS:
        return parts[3], "/".join(parts[:5])
    return None


OUTPUTS = Outputs(of_failed_subject=_failed_outputs, root="vehicles", subject_prefix=_video_of,
                  existing=rows_with_ids(VehicleVideo.id))
