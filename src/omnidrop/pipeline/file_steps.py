"""Per-file derived assets, by kind: the clean place where media work hooks in.

Each step takes the file and returns {role: blob key}, or a `Derived` when it also has facts for
the file's `details` (a point cloud's count and bounds, or the error that kept it from converting).
Images get a thumbnail here; the media pipeline adds frames for 360 video, point clouds their COPC
and the like by registering more steps.
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
    """What a step made: assets by role, and facts merged into the file's `details`."""

    assets: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


Step = Callable[["JobContext", str, str, Path, Classification], Awaitable["dict[str, str] | Derived"]]
STEPS: dict[Kind, list[Step]] = {}


def step(*kinds: Kind) -> Callable[[Step], Step]:
    def register(fn: Step) -> Step:
        for kind in kinds:
            STEPS.setdefault(kind, []).append(fn)
        return fn

    return register


async def run_file_steps(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> Derived:
    derived = Derived()
    for fn in STEPS.get(kind.kind, []):
        made = await fn(ctx, project_id, name, path, kind)
        if isinstance(made, Derived):
            derived.assets.update(made.assets)
            derived.details.update(made.details)
        else:
            derived.assets.update(made)
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
