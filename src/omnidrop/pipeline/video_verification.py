"""The `video.verify` job: once every file of a direct video group is complete, probe each by content
and record the result on the group's library entry.

Per role: video, video_left, video_right must be video the probe accepts; audio real audio;
subtitle a subtitle file that parses (SRT, WebVTT, ASS/SSA, SCC, TTML); aime and fcpxmld as
pipeline/sidecars.py checks them. In the Separate layout the two eyes must agree: the same
resolution and frame rate, durations within `video_eye_duration_tolerance_seconds`.

The entry goes pending -> verifying -> one final state:
- failed, with the first problem's code (invalid_video, invalid_audio, invalid_subtitle, invalid_aime,
  invalid_fcpxmld, eyes_mismatch) and every problem in the message;
- unverified, when every file passed but some could only be accepted without a content check (an
  AIME file in Apple's unpublished binary layout): code `unchecked_<role>` (`unchecked_aime`), the
  message naming each such file and why;
- verified, only when every file was checked by content and passed.
`verification` keeps what was found per file either way (`checked: false` on a file accepted
unchecked). Probing only reads, so a re-run gives the same result, and a final state is never
overwritten by a late or duplicate run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from omnidrop.db.clock import db_time
from omnidrop.db.models import VideoLibraryEntry, VideoUploadFile, VideoUploadGroup
from omnidrop.jobs.errors import JobFailed
from omnidrop.jobs.runner import JobContext
from omnidrop.pipeline.blobs import local_copy
from omnidrop.pipeline.rejected import Rejected
from omnidrop.videos.service import (
    PENDING, ROLES, UNVERIFIED, VERIFIED, VERIFY_FAILED, VERIFY_FINAL, VERIFYING, file_key,
)

VIDEO_ROLES = ("video", "video_left", "video_right")
FPS_TOLERANCE = 0.0005  # relative: 29.97 and 30000/1001 are one rate, 29.97 and 30 are not


def check_file(role: str, path: Path) -> dict[str, Any]:
    """What the content of one file is, or why it is not what its role needs (runs on a thread)."""
    from omnidrop.pipeline.media.audio import probe_audio
    from omnidrop.pipeline.media.probe import probe
    from omnidrop.pipeline.media.subtitles import probe_subtitle
    from omnidrop.pipeline.sidecars import check_aime, check_fcpxmld

    checks = {"audio": probe_audio, "subtitle": probe_subtitle, "aime": check_aime, "fcpxmld": check_fcpxmld}
    check = probe if role in VIDEO_ROLES else checks[role]
    try:
        info = check(path)
    except Rejected as exc:
        return {"ok": False, "code": exc.code, "message": exc.reason}
    found = dataclasses.asdict(info)
    unchecked = found.pop("unchecked", None)  # only sidecars can be accepted without a content check
    if unchecked:
        return {"ok": True, "checked": False, "message": unchecked, "info": found}
    return {"ok": True, "checked": True, "info": found}


def compare_eyes(left: dict, right: dict, duration_tolerance: float) -> list[str]:
    """The ways the left and right eye probes disagree (empty when they match)."""
    problems = []
    if (left["width"], left["height"]) != (right["width"], right["height"]):
        problems.append(f"resolution {left['width']}x{left['height']} (left) vs {right['width']}x{right['height']} "
                        "(right)")
    if abs(left["fps"] - right["fps"]) > FPS_TOLERANCE * max(left["fps"], right["fps"], 1.0):
        problems.append(f"frame rate {left['fps']:.3f} (left) vs {right['fps']:.3f} (right) fps")
    if abs(left["duration"] - right["duration"]) > duration_tolerance:
        problems.append(f"duration {left['duration']:.3f} s (left) vs {right['duration']:.3f} s (right), more than "
                        f"{duration_tolerance:g} s apart")
    return problems


async def run(ctx: JobContext) -> None:
    group_id = ctx.job.subject_id
    async with ctx.services.db.read() as s:
        group = await s.get(VideoUploadGroup, group_id)
        entry = await s.scalar(select(VideoLibraryEntry).where(VideoLibraryEntry.group_id == group_id))
        files = list(await s.scalars(
            select(VideoUploadFile).where(VideoUploadFile.group_id == group_id).order_by(VideoUploadFile.id)
        ))
    if group is None or entry is None or entry.verification_state in VERIFY_FINAL:
        return
    files.sort(key=lambda f: (ROLES.index(f.role), f.filename))  # videos first: their problem is the code
    await _set(ctx, group_id, verification_state=VERIFYING)
    results: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    workdir = Path(tempfile.mkdtemp(prefix=f"omnidrop-verify-{group_id}-"))
    try:
        for i, f in enumerate(files, 1):
            async with local_copy(ctx.services.store, file_key(group_id, f.id, f.filename), workdir) as path:
                result = await asyncio.to_thread(check_file, f.role, path)
            results[f.id] = {"role": f.role, "filename": f.filename, **result}
            if not result["ok"]:
                kind = "video" if f.role in VIDEO_ROLES else f.role
                problems.append((f"invalid_{kind}", f"{f.role} file {f.filename!r}: {result['message']}"))
            await ctx.progress(i / (len(files) + 1))
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
    verification: dict[str, Any] = {"files": results}
    if group.layout == "Separate":
        eyes = _eyes(files, results, ctx.settings.video_eye_duration_tolerance_seconds)
        if eyes is not None:
            verification["eyes"] = eyes
            if not eyes["match"]:
                problems.append(("eyes_mismatch", "the left and right eyes differ: " + "; ".join(eyes["problems"])))
    await _set(ctx, group_id, verification=verification)
    if problems:
        raise JobFailed(problems[0][0], "; ".join(message for _, message in problems))
    unchecked = [f for f in files if not results[f.id]["checked"]]
    if unchecked:  # passed, but not every file was looked into: "verified" would claim more than was done
        message = "; ".join(f"{f.role} file {f.filename!r} was accepted unchecked: {results[f.id]['message']}"
                            for f in unchecked)
        await _set(ctx, group_id, verification_state=UNVERIFIED, verification_code=f"unchecked_{unchecked[0].role}",
                   verification_message=message, verified_at=db_time(0))
        return
    await _set(ctx, group_id, verification_state=VERIFIED, verification_code=None, verification_message=None,
               verified_at=db_time(0))


async def failed(ctx: JobContext, code: str, message: str) -> None:
    await _set(ctx, ctx.job.subject_id, verification_state=VERIFY_FAILED, verification_code=code,
               verification_message=message, verified_at=db_time(0))


def _eyes(files: list[VideoUploadFile], results: dict, tolerance: float) -> dict | None:
    by_role = {f.role: results[f.id] for f in files}
    left, right = by_role.get("video_left"), by_role.get("video_right")
    if not (left and right and left["ok"] and right["ok"]):
        return None  # an eye that is not video at all is reported as such, not compared
    problems = compare_eyes(left["info"], right["info"], tolerance)
    return {"match": not problems, "problems": problems, "duration_tolerance_seconds": tolerance}


async def _set(ctx: JobContext, group_id: str, **values) -> None:
    async with ctx.services.db.write() as s:
        # A late duplicate run never overwrites a final result (VERIFY_FINAL: verified, unverified, failed).
        live = VideoLibraryEntry.verification_state.in_((PENDING, VERIFYING)) | (
            VideoLibraryEntry.verification_state.is_(None))
        await s.execute(update(VideoLibraryEntry).where(VideoLibraryEntry.group_id == group_id, live).values(**values))
