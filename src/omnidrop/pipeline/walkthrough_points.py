"""The `walkthrough.points` job: panoramas along a 360 walk, each placed on the map and the drawing.

Queued by step 5 of the walkthrough API. It validates the linked videos by content, picks
`target_points_count` times evenly spaced from the first to the last frame, renders an
equirectangular JPEG at each (`pipeline/media/panoramas.py`), places point i at the fraction
i/(N-1) between start_position and end_position (or on the file's GPS track where it has one) and
on the drawing by its bounds, then stores the points and marks the upload object done.

processing_status: queued -> processing -> done, or failed with `processing_error` "<code>: <reason>".
Idempotent: names follow from the index (frame_0001.jpg…), blobs are overwritten in place, and
the points are replaced in the same transaction that marks the object done, so a worker killed
anywhere is simply re-run to the same result. A job superseded by a later step 5 stands down.
Progress: inspection 0..10 %, panoramas 10..90 %, storing 90..100 %.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import delete, select, update

from omnidrop.db.clock import db_time
from omnidrop.db.models import Drawing, WalkthroughPoint, WalkthroughUpload, WalkthroughVideo
from omnidrop.db.types import utcnow
from omnidrop.jobs.errors import JobFailed
from omnidrop.jobs.outputs import Outputs, keep_only
from omnidrop.jobs.runner import JobContext
from omnidrop.pipeline.blobs import local_copy, put_file
from omnidrop.pipeline.media.naming import frame_name
from omnidrop.pipeline.child import run_step
from omnidrop.pipeline.media.panoramas import Panorama, PanoramaError
from omnidrop.pipeline.media.to_files import panoramas_into
from omnidrop.pipeline.walkthrough_input import UnusableWalk, WalkInput, WalkVideo, inspect, points_count
from omnidrop.walkthrough.placement import DrawingBounds, drawing_xy, place, point_times
from omnidrop.walkthrough.service import DONE, FAILED, PROCESSING

INSPECTED, RENDERED = 0.10, 0.90  # where each phase ends on the progress scale


def panorama_prefix(upload_id: int) -> str:
    return f"walkthroughs/{upload_id}/panoramas"


def _upload_id(ctx: JobContext) -> int:
    return int(ctx.job.subject_id.split(":", 1)[0])  # "<upload id>:<nonce>", one subject per step 5


async def run(ctx: JobContext) -> None:
    upload_id = _upload_id(ctx)
    async with ctx.services.db.read() as s:
        row = await s.get(WalkthroughUpload, upload_id)
        if row is None or row.job_id != ctx.job.id or row.processing_status in (DONE, FAILED):
            return  # gone, superseded by a later step 5, or finished by an earlier attempt
        videos = list(await s.scalars(select(WalkthroughVideo).where(WalkthroughVideo.upload_id == upload_id)
                                      .order_by(WalkthroughVideo.id)))
        drawing = await s.get(Drawing, row.floor_id)
    if not videos:
        raise JobFailed("no_video", "no video is linked to this upload object")
    await _set(ctx, upload_id, processing_status=PROCESSING)
    workdir = Path(tempfile.mkdtemp(prefix=f"omnidrop-walkthrough-{upload_id}-"))
    try:
        async with contextlib.AsyncExitStack() as stack:
            walk_videos = [WalkVideo(v.title or v.url, await stack.enter_async_context(
                local_copy(ctx.services.store, v.blob_key, workdir))) for v in videos]
            walk = await _inspect(ctx, walk_videos)
            await ctx.progress(INSPECTED)
            count = points_count(row.target_points_count or 0, walk, ctx.settings.walkthrough_point_interval_seconds,
                                 ctx.settings.walkthrough_max_points)
            times = point_times(0.0, walk.last_frame_time, count)
            panoramas = await _render(ctx, walk, times, workdir)
        prefix = panorama_prefix(upload_id)
        keys = [f"{prefix}/{frame_name(p.index + 1)}" for p in panoramas]
        for i, (p, key) in enumerate(zip(panoramas, keys), 1):
            await put_file(ctx.services.store, key, workdir / frame_name(p.index + 1))
            await ctx.progress(RENDERED + (1 - RENDERED) * i / len(keys))
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
    points = _points(upload_id, row, drawing, walk, panoramas, keys)
    ctx.check()  # a worker that lost its lease must not write the result
    if not await _store_points(ctx, upload_id, points):
        return
    # Panoramas an earlier run made that this one did not (it had more points).
    await keep_only(ctx.services.store, prefix, keys, nested=True)


async def failed(ctx: JobContext, code: str, message: str) -> None:
    async with ctx.services.db.write() as s:
        await s.execute(update(WalkthroughUpload)
                        .where(WalkthroughUpload.id == _upload_id(ctx), WalkthroughUpload.job_id == ctx.job.id)
                        .values(processing_status=FAILED, processing_error=f"{code}: {message}", updated_at=db_time(0)))


async def _set(ctx: JobContext, upload_id: int, **values) -> None:
    async with ctx.services.db.write() as s:
        await s.execute(update(WalkthroughUpload)
                        .where(WalkthroughUpload.id == upload_id, WalkthroughUpload.job_id == ctx.job.id)
                        .values(updated_at=db_time(0), **values))


async def _inspect(ctx: JobContext, videos: list[WalkVideo]) -> WalkInput:
    try:
        return await asyncio.to_thread(inspect, videos, ctx.settings.walkthrough_fisheye_fov)
    except UnusableWalk as exc:
        raise JobFailed(exc.code, exc.reason) from None


async def _render(ctx: JobContext, walk: WalkInput, times: list[float], workdir: Path) -> list[Panorama]:
    """Render in a child process (its decoder memory goes with it), watched from a thread while this
    task reports progress (and notices a lost lease)."""

    def work(progress) -> list[Panorama]:
        return run_step(ctx.settings, panoramas_into, walk.layout, times, workdir,
                            quality=ctx.settings.walkthrough_panorama_quality, progress=progress)

    try:
        return await ctx.on_thread(work, start=INSPECTED, end=RENDERED)
    except PanoramaError as exc:
        raise JobFailed("corrupt", str(exc)) from None


def _points(upload_id: int, row: WalkthroughUpload, drawing: Drawing | None, walk: WalkInput,
            panoramas: list[Panorama], keys: list[str]) -> list[WalkthroughPoint]:
    start, end = (row.start_lat, row.start_lng), (row.end_lat, row.end_lng)
    placed = place([p.time for p in panoramas], start, end, walk.gps.fixes)
    bounds = DrawingBounds(drawing.north, drawing.south, drawing.east, drawing.west) if drawing else None
    now = utcnow()
    points = []
    for p, spot, key in zip(panoramas, placed, keys):
        x, y = drawing_xy(spot.lat, spot.lng, bounds) if bounds else (None, None)
        points.append(WalkthroughPoint(upload_id=upload_id, index=p.index, time_seconds=round(p.time, 6),
                                       lat=spot.lat, lng=spot.lng, x=x, y=y, source=spot.source, blob_key=key,
                                       width=p.width, height=p.height, created_at=now))
    return points


async def _store_points(ctx: JobContext, upload_id: int, points: list[WalkthroughPoint]) -> bool:
    """Replace the points and mark the object done, in one transaction; False if superseded meanwhile."""
    async with ctx.services.db.write() as s:
        row = await s.get(WalkthroughUpload, upload_id, populate_existing=True)
        if row is None or row.job_id != ctx.job.id:
            return False
        await s.execute(delete(WalkthroughPoint).where(WalkthroughPoint.upload_id == upload_id))
        s.add_all(points)
        row.processing_status, row.processing_error, row.updated_at = DONE, None, db_time(0)
    return True


# -- outputs (jobs/outputs.py): walkthroughs/<upload id>/panoramas/... ----------------------------------


async def _failed_outputs(services, subject_id: str) -> list[str]:
    """The panoramas of a step 5 whose job failed for good, unless a later step 5 took the object over
    (its job's outputs are its own): only while the object is marked failed."""
    upload_id = int(subject_id.split(":", 1)[0])
    async with services.db.read() as s:
        row = await s.get(WalkthroughUpload, upload_id)
    return [panorama_prefix(upload_id)] if row is not None and row.processing_status == FAILED else []


async def _referenced(services, subject_id: str) -> set[str]:
    """Panoramas the object's points still show (an earlier successful step 5's) are not orphans."""
    upload_id = int(subject_id.split(":", 1)[0])
    async with services.db.read() as s:
        return set(await s.scalars(select(WalkthroughPoint.blob_key).where(WalkthroughPoint.upload_id == upload_id)))


def _upload_of(key: str) -> tuple[str, str] | None:
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] == "walkthroughs" and parts[1].isdigit():
        return parts[1], f"walkthroughs/{parts[1]}"
    return None


async def _existing_uploads(services, ids: set[str]) -> set[str]:
    async with services.db.read() as s:
        found = await s.scalars(select(WalkthroughUpload.id).where(WalkthroughUpload.id.in_([int(i) for i in ids])))
        return {str(i) for i in found}


OUTPUTS = Outputs(of_failed_subject=_failed_outputs, root="walkthroughs", subject_prefix=_upload_of,
                  existing=_existing_uploads, kept_on_failure=_referenced)
