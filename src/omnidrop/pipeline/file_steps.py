"""Per-file derived assets, by kind: the clean place where media work hooks in.

Each step takes the file and returns {role: blob key}, or a `Derived` when it also has facts for the
file's `details` (a BIM model's schema and element counts). Images get a thumbnail here; the media
pipeline adds frames for 360 video and the like by registering more steps.

A step that cannot convert its file (corrupt, truncated, an unsupported variant) raises `FileFailed`:
the file keeps its record, with `error` and `error_message` in its details, and the project goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omnidrop.pipeline.blobs import put_bytes
from omnidrop.pipeline.classify import Classification, Kind
from omnidrop.pipeline.thumbnails import ThumbnailError, make_thumbnail

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext


@dataclass
class Derived:
    """What a step adds to a file's record: assets by role, and facts merged into its details."""

    assets: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


class FileFailed(Exception):
    """This file could not be converted; `code` and `message` go into its record, the project goes on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code, self.message = code, message


Step = Callable[["JobContext", str, str, Path, Classification], Awaitable["dict[str, str] | Derived"]]
STEPS: dict[Kind, list[Step]] = {}


def step(*kinds: Kind) -> Callable[[Step], Step]:
    def register(fn: Step) -> Step:
        for kind in kinds:
            STEPS.setdefault(kind, []).append(fn)
        return fn

    return register


async def run_file_steps(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> Derived:
    """Every step of the file's kind, in order. One that fails marks the file failed (the first failure
    is the one recorded); what the other steps derive is kept."""
    derived = Derived()
    for fn in STEPS.get(kind.kind, []):
        try:
            got = await fn(ctx, project_id, name, path, kind)
        except FileFailed as exc:
            derived.details.setdefault("error", exc.code)
            derived.details.setdefault("error_message", exc.message)
            continue
        if isinstance(got, Derived):
            derived.assets.update(got.assets)
            derived.details.update(got.details)
        else:
            derived.assets.update(got)
    return derived


@step(Kind.IMAGE)
async def thumbnail(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> dict[str, str]:
    try:
        jpeg = await asyncio.to_thread(make_thumbnail, path, ctx.settings.thumbnail_max_edge)
    except ThumbnailError:
        return {}  # an image Pillow cannot decode (e.g. HEIC) is kept, just without a thumbnail
    key = f"projects/{project_id}/thumbs/{name}.jpg"
    await put_bytes(ctx.services.store, key, jpeg)
    return {"thumbnail": key}
