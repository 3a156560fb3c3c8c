"""Frame extraction inside a job: decode in a child process (watched from a thread) while the job's own
task reports progress (and so notices a lost lease), with the extractor's failures turned into the
job's error codes. Shared by the
vehicle.frames and capture.process jobs."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from omnidrop.jobs.errors import JobFailed
from omnidrop.jobs.runner import JobContext

if TYPE_CHECKING:
    from omnidrop.pipeline.media.frames import Extraction

log = logging.getLogger(__name__)


async def extract_video_frames(ctx: JobContext, path: Path, dest: Path, *, fps: float | Fraction, quality: int,
                               count: int | None = None, progress_end: float) -> Extraction:
    """JPEG frames of `path` written into `dest` (see media.frames.extract_frames for `fps` and `count`);
    progress goes 0..`progress_end`. Fails the job with `corrupt` or `no_frames`."""
    from omnidrop.pipeline.child import run_step
    from omnidrop.pipeline.media.frames import FrameExtractionError  # PyAV only where used
    from omnidrop.pipeline.media.to_files import frames_into

    def extract(progress):
        # In a child process: the decoder's memory goes with it (pipeline/child.py).
        return run_step(ctx.settings, frames_into, path, dest, fps=fps, count=count, quality=quality,
                        progress=progress)

    try:
        result = await ctx.on_thread(extract, end=progress_end)
    except FrameExtractionError as exc:
        raise JobFailed("corrupt", f"the video stopped decoding after {exc.emitted} frames ({exc})") from None
    if not result.names:
        raise JobFailed("no_frames", "the video gave no frames")
    if result.corrupt:
        spans = ", ".join(f"{c.start:.2f}-{c.end:.2f} s ({c.packets} packets)" for c in result.corrupt)
        log.warning("job %s: %s: skipped what the decoder refused: %s", ctx.job.id, path.name, spans)
    return result
