"""Point clouds inside projects: a file step that makes a COPC (streamed level of detail) copy.

Every point cloud (E57 with any number of scans, LAS, LAZ, PLY, PCD, XYZ/PTS text) becomes one
COPC file, the asset `copc`, which the web app's point-cloud viewer reads node by node with HTTP
range requests. E57 panoramic images become `panorama_0001`, `panorama_0002`… (JPEG). The file's
`details` gain the point count, bounds, CRS, scan poses and the LOD's shape; a cloud that cannot be
read gets `error`/`error_message` there instead (`FileFailed`), and the project goes on.

The conversion runs in a child process (pipeline/child.py): its memory goes when it ends.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from omnidrop.jobs.outputs import keep_only
from omnidrop.pipeline.blobs import put_file
from omnidrop.pipeline.child import run_step
from omnidrop.pipeline.classify import Classification, Kind
from omnidrop.pipeline.file_steps import Derived, FileFailed, step
from omnidrop.pipeline.pointclouds.convert import convert_cloud
from omnidrop.pipeline.pointclouds.readers import CloudError

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext

COPC_ROLE = "copc"
ERROR_CODE = "unreadable_point_cloud"


@step(Kind.POINT_CLOUD)
async def pointcloud(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> Derived:
    out = Path(tempfile.mkdtemp(prefix="omnidrop-copc-"))
    prefix = f"projects/{project_id}/pointclouds/{name}"
    fmt = str(kind.details.get("format", ""))
    try:
        try:
            converted = await asyncio.to_thread(run_step, ctx.settings, convert_cloud, path, fmt, out)
        except CloudError as exc:
            await keep_only(ctx.services.store, prefix, ())  # what an earlier run made of it is not this file's
            raise FileFailed(ERROR_CODE, str(exc)) from None
        assets = {COPC_ROLE: f"{prefix}/{converted.copc.name}"}
        await put_file(ctx.services.store, assets[COPC_ROLE], converted.copc)
        for pano in converted.panoramas:
            assets[pano.stem] = f"{prefix}/{pano.name}"
            await put_file(ctx.services.store, assets[pano.stem], pano)
        await keep_only(ctx.services.store, prefix, assets.values())
        return Derived(assets, converted.details)
    finally:
        await asyncio.to_thread(shutil.rmtree, out, True)
