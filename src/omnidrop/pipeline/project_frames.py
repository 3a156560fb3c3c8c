"""Frames for 360 videos inside projects: a file step, so they appear as the file's assets.

Each frame is its own asset role (`frame_0001` …), downloadable like a thumbnail through the
project's asset URLs. A video the decoder gives up on keeps its record, just without frames.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from omnidrop.jobs.outputs import keep_only
from omnidrop.pipeline.blobs import put_file
from omnidrop.pipeline.classify import Classification, Kind
from omnidrop.pipeline.file_steps import step
from omnidrop.pipeline.child import run_step
from omnidrop.pipeline.media.frames import FrameExtractionError
from omnidrop.pipeline.media.to_files import frames_into
from omnidrop.pipeline.media.probe import VideoRejected

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext


@step(Kind.VIDEO_360)
async def frames(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> dict[str, str]:
    out = Path(tempfile.mkdtemp(prefix="omnidrop-frames-"))
    prefix = f"projects/{project_id}/frames/{name}"
    assets: dict[str, str] = {}
    try:
        try:
            result = await asyncio.to_thread(  # in a child process: its decoder memory goes with it
                run_step, ctx.settings, frames_into, path, out,
                fps=ctx.settings.vehicle_frames_fps, quality=ctx.settings.vehicle_frame_quality,
            )
        except (VideoRejected, FrameExtractionError):
            result = None  # no frames: any an earlier attempt stored go below
        for frame in result.names if result is not None else ():
            key = f"{prefix}/{frame}"
            await put_file(ctx.services.store, key, out / frame)
            assets[PurePosixPath(frame).stem] = key
        # Frames of an earlier attempt or run this one did not make (a dead attempt that read further,
        # a changed frame rate): after this attempt's own are stored, so none of those can go.
        await keep_only(ctx.services.store, prefix, assets.values())
        return assets
    finally:
        await asyncio.to_thread(shutil.rmtree, out, True)
