"""Gaussian splats and 3D models inside projects: file steps that make them viewable in the browser.

- A splat (3DGS `.ply`, `.spz`, `.splat`, `.ksplat`, `.sog`) gets `sog` and `spz` web copies
  (`projects/<id>/splats/<file name>/scene.sog|.spz`) and a `thumbnail`, with its splat count, SH degree
  and bounds in details (pipeline/splats.py).
- A mesh (glTF/GLB, OBJ, STL, PLY with faces, OFF; FBX, COLLADA, 3DS through Assimp) gets `model`
  (`projects/<id>/models/<file name>/model.glb`) and a `thumbnail`, with vertex/face/mesh counts and
  bounds in details (pipeline/meshes.py). IFC and the other CAD formats are not meshes here.

Both convert in a child process (`OMNIDROP_MEDIA_CHILD_PROCESS`). A file that cannot be converted is
marked failed on its own (`FileFailed`), with what an earlier run left of it removed; the project goes
on with its other files. Thumbnails share `projects/<id>/thumbs/<file name>.jpg` with images' (a file
has one kind).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from omnidrop.jobs.outputs import keep_only
from omnidrop.pipeline import meshes, splats
from omnidrop.pipeline.blobs import put_file
from omnidrop.pipeline.child import ChildDied, run_step
from omnidrop.pipeline.classify import Classification, Kind
from omnidrop.pipeline.file_steps import Derived, FileFailed, step

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext


def thumbnail_key(project_id: str, name: str) -> str:
    return f"projects/{project_id}/thumbs/{name}.jpg"


@step(Kind.SPLAT)
async def web_splat(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> Derived:
    store = ctx.services.store
    prefix = f"projects/{project_id}/splats/{name}"
    fmt = kind.details.get("format")
    work = Path(tempfile.mkdtemp(prefix="omnidrop-splat-"))
    try:
        try:
            if fmt not in splats.FORMATS:
                raise splats.SplatError("unsupported_format", f"no converter reads the {fmt or 'unknown'} splat format")
            cli = splats.find_cli(ctx.settings.splat_transform)
            if cli is None:
                raise splats.SplatError("converter_missing", "splat-transform is not installed (OMNIDROP_SPLAT_TRANSFORM)")
            made = await asyncio.to_thread(run_step, ctx.settings, splats.web_ready, path, fmt, work, cli,
                                           timeout=ctx.settings.model_convert_timeout_seconds,
                                           preview_edge=ctx.settings.thumbnail_max_edge)
        except (splats.SplatError, ChildDied) as exc:
            await _forget(ctx, prefix, thumbnail_key(project_id, name))
            code = exc.code if isinstance(exc, splats.SplatError) else "conversion_failed"
            raise FileFailed(code, str(exc)) from None
        assets = {}
        for out, local in made.outputs.items():
            role, key = ("thumbnail", thumbnail_key(project_id, name)) if out == "preview" else (out, f"{prefix}/scene.{out}")
            await put_file(store, key, local)
            assets[role] = key
        await keep_only(store, prefix, assets.values())
        return Derived(assets, {"splats": made.count, "sh_degree": made.sh_degree, "bounds": made.bounds})
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


@step(Kind.CAD_BIM)
async def web_mesh(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> Derived:
    fmt = kind.details.get("format")
    if fmt not in meshes.FORMATS:
        return Derived()  # IFC (pipeline/project_bim.py), STEP, DWG…: not a mesh format
    store = ctx.services.store
    prefix = f"projects/{project_id}/models/{name}"
    work = Path(tempfile.mkdtemp(prefix="omnidrop-mesh-"))
    glb, thumb = work / "model.glb", work / "thumb.jpg"
    try:
        try:
            info = await asyncio.to_thread(run_step, ctx.settings, meshes.to_glb, path, fmt, glb, thumb,
                                           ctx.settings.thumbnail_max_edge, ctx.settings.model_convert_timeout_seconds)
        except meshes.MeshError as exc:
            await _forget(ctx, prefix, thumbnail_key(project_id, name))
            raise FileFailed(exc.code, exc.message) from None
        except ChildDied as exc:  # out of memory or a crash in a reader: this file fails, the project goes on
            await _forget(ctx, prefix, thumbnail_key(project_id, name))
            raise FileFailed("conversion_failed", f"the model conversion ended without a result: {exc}") from None
        assets = {"model": f"{prefix}/model.glb", "thumbnail": thumbnail_key(project_id, name)}
        await put_file(store, assets["model"], glb)
        await put_file(store, assets["thumbnail"], thumb)
        await keep_only(store, prefix, assets.values())
        return Derived(assets, info)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


async def _forget(ctx: JobContext, prefix: str, thumbnail: str) -> None:
    """Nothing of an earlier run stays beside a file that failed now."""
    await keep_only(ctx.services.store, prefix, ())
    await ctx.services.store.delete(thumbnail)
