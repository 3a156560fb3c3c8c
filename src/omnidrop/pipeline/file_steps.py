"""Per-file derived assets, by kind: the clean place where media work hooks in.

Each step takes the file and returns {role: blob key}. Images get a thumbnail here; the media
pipeline adds frames for 360 video and the like by registering more steps.

A step that cannot convert its file (corrupt, truncated, an unsupported variant) raises `FileFailed`
with a stable code and a message for people: the file keeps its record with `error` and `message`,
the other steps still run, and the project goes on to 100. Any other exception is a fault of the job
(it is retried), not of the file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from omnidrop.pipeline.blobs import put_bytes
from omnidrop.pipeline.classify import Classification, Kind
from omnidrop.pipeline.thumbnails import ThumbnailError, make_thumbnail

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext

class FileFailed(Exception):
    """This file could not be converted; `code` is stable (`corrupt`, `truncated`, `unsupported`…)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class FileOutcome:
    assets: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the first step's FileFailed code
    message: str | None = None


Step = Callable[["JobContext", str, str, Path, Classification], Awaitable[dict[str, str]]]
STEPS: dict[Kind, list[Step]] = {}


def step(*kinds: Kind) -> Callable[[Step], Step]:
    def register(fn: Step) -> Step:
        for kind in kinds:
            STEPS.setdefault(kind, []).append(fn)
        return fn

    return register


async def run_file_steps(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> FileOutcome:
    outcome = FileOutcome()
    for fn in STEPS.get(kind.kind, []):
        try:
            outcome.assets.update(await fn(ctx, project_id, name, path, kind))
        except FileFailed as exc:
            if outcome.error is None:
                outcome.error, outcome.message = exc.code, exc.message
    return outcome


@step(Kind.IMAGE)
async def thumbnail(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> dict[str, str]:
    try:
        jpeg = await asyncio.to_thread(make_thumbnail, path, ctx.settings.thumbnail_max_edge)
    except ThumbnailError:
        return {}  # an image Pillow cannot decode (e.g. HEIC) is kept, just without a thumbnail
    key = f"projects/{project_id}/thumbs/{name}.jpg"
    await put_bytes(ctx.services.store, key, jpeg)
    return {"thumbnail": key}
