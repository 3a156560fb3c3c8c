"""IFC files inside projects: a file step that converts the model for the BIM viewer (pipeline/bim.py).

Assets (under `projects/<id>/bim/<file name>/`): `bim_model` (GLB), `bim_tree` (spatial tree JSON),
`bim_properties` (property sets by GlobalId). The model's schema, project name, units, storeys and
element counts by type go into the file's details. A file IfcOpenShell cannot read, or whose
conversion dies (out of memory, a crash in the geometry kernel), is marked failed on its own; the
project goes on with its other files.

Other CAD/BIM formats (GLB, OBJ, …) are someone else's step: this one only takes `format == "ifc"`.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from omnidrop.jobs.outputs import keep_only
from omnidrop.pipeline.bim import MODEL, PROPERTIES, TREE, IfcUnreadable, convert
from omnidrop.pipeline.blobs import put_file
from omnidrop.pipeline.child import ChildDied, run_step
from omnidrop.pipeline.classify import Classification, Kind
from omnidrop.pipeline.file_steps import Derived, FileFailed, step

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext

ROLES = {"bim_model": MODEL, "bim_tree": TREE, "bim_properties": PROPERTIES}


@step(Kind.CAD_BIM)
async def ifc_model(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> Derived:
    if kind.details.get("format") != "ifc":
        return Derived()
    store = ctx.services.store
    prefix = f"projects/{project_id}/bim/{name}"
    out = Path(tempfile.mkdtemp(prefix="omnidrop-bim-"))
    try:
        try:
            details = await asyncio.to_thread(  # in a child process: IfcOpenShell gives no memory back
                run_step, ctx.settings, convert, path, out, threads=ctx.settings.bim_geometry_threads)
        except IfcUnreadable as exc:
            await keep_only(store, prefix, ())  # nothing of an earlier run stays beside a failed file
            raise FileFailed("unreadable_ifc", exc.message) from None
        except ChildDied as exc:
            await keep_only(store, prefix, ())
            raise FileFailed("conversion_failed", f"the IFC conversion ended without a result: {exc}") from None
        assets = {}
        for role, filename in ROLES.items():
            key = f"{prefix}/{filename}"
            await put_file(store, key, out / filename)
            assets[role] = key
        await keep_only(store, prefix, assets.values())
        return Derived(assets, details)
    finally:
        await asyncio.to_thread(shutil.rmtree, out, True)
