"""Per-file derived assets, by kind: the clean place where media work hooks in.

Each step takes the file and returns {role: blob key}. Images get a thumbnail here; the media
pipeline adds frames for 360 video and the like by registering more steps. A step may add to the
file's `details` (counts, bounds); a file it cannot convert gets `error` (a slug) and `message` there,
and the project goes on with its other files.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from omnidrop.pipeline import meshes, splats
from omnidrop.pipeline.blobs import put_bytes, put_file
from omnidrop.pipeline.child import ChildDied, run_step
from omnidrop.pipeline.classify import Classification, Kind
from omnidrop.pipeline.thumbnails import ThumbnailError, make_thumbnail

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext

Step = Callable[["JobContext", str, str, Path, Classification], Awaitable[dict[str, str]]]
STEPS: dict[Kind, list[Step]] = {}


def step(*kinds: Kind) -> Callable[[Step], Step]:
    def register(fn: Step) -> Step:
        for kind in kinds:
            STEPS.setdefault(kind, []).append(fn)
        return fn

    return register


async def run_file_steps(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> dict[str, str]:
    assets: dict[str, str] = {}
    for fn in STEPS.get(kind.kind, []):
        assets.update(await fn(ctx, project_id, name, path, kind))
    return assets


@step(Kind.IMAGE)
async def thumbnail(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> dict[str, str]:
    try:
        jpeg = await asyncio.to_thread(make_thumbnail, path, ctx.settings.thumbnail_max_edge)
    except ThumbnailError:
        return {}  # an image Pillow cannot decode (e.g. HEIC) is kept, just without a thumbnail
    key = f"projects/{project_id}/thumbs/{name}.jpg"
    await put_bytes(ctx.services.store, key, jpeg)
    return {"thumbnail": key}


def _file_failed(kind: Classification, code: str, message: str) -> None:
    """A per-file outcome: the file stays in the project (downloadable) and its record says what went wrong."""
    kind.details.update(error=code, message=message)


@step(Kind.SPLAT)
async def web_splat(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> dict[str, str]:
    """A Gaussian splat as SOG and SPZ v3 for the browser and a preview thumbnail (pipeline/splats.py), with
    count, SH degree and bounds in details."""
    fmt = kind.details.get("format")
    if fmt not in splats.FORMATS:
        _file_failed(kind, "unsupported_format", f"no converter reads {fmt or 'this'} splat format")
        return {}
    cli = splats.find_cli(ctx.settings.splat_transform)
    if cli is None:
        _file_failed(kind, "converter_missing", "splat-transform is not installed (OMNIDROP_SPLAT_TRANSFORM)")
        return {}
    work = Path(tempfile.mkdtemp(prefix="omnidrop-splat-"))
    try:
        try:
            made = await asyncio.to_thread(run_step, ctx.settings, splats.web_ready, path, fmt, work, cli,
                                           timeout=ctx.settings.model_convert_timeout_seconds,
                                           preview_edge=ctx.settings.thumbnail_max_edge)
        except splats.SplatError as exc:
            _file_failed(kind, exc.code, exc.message)
            return {}
        except ChildDied as exc:
            _file_failed(kind, "conversion_failed", f"the splat converter stopped ({exc})")
            return {}
        assets = {}
        for out, local in made.outputs.items():
            role, key = (("thumbnail", f"projects/{project_id}/thumbs/{name}.jpg") if out == "preview"
                         else (out, f"projects/{project_id}/splats/{name}.{out}"))
            await put_file(ctx.services.store, key, local)
            assets[role] = key
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)
    kind.details.update(splats=made.count, sh_degree=made.sh_degree, bounds=made.bounds)
    return assets


@step(Kind.CAD_BIM)
async def web_mesh(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> dict[str, str]:
    """A 3D model as one GLB plus a rendered thumbnail (pipeline/meshes.py), with vertex/face counts and bounds."""
    fmt = kind.details.get("format")
    if fmt not in meshes.FORMATS:
        return {}  # IFC, STEP, DWG…: not a mesh format
    work = Path(tempfile.mkdtemp(prefix="omnidrop-mesh-"))
    glb, thumb = work / "model.glb", work / "thumb.jpg"
    try:
        try:
            info = await asyncio.to_thread(run_step, ctx.settings, meshes.to_glb, path, fmt, glb, thumb,
                                           ctx.settings.thumbnail_max_edge, ctx.settings.model_convert_timeout_seconds)
        except meshes.MeshError as exc:
            _file_failed(kind, exc.code, exc.message)
            return {}
        except ChildDied as exc:  # out of memory or a crash in a reader: this file fails, the project goes on
            _file_failed(kind, "conversion_failed", f"the model converter stopped ({exc})")
            return {}
        assets = {"model": f"projects/{project_id}/models/{name}.glb", "thumbnail": f"projects/{project_id}/thumbs/{name}.jpg"}
        await put_file(ctx.services.store, assets["model"], glb)
        await put_file(ctx.services.store, assets["thumbnail"], thumb)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)
    kind.details.update(info)
    return assets
