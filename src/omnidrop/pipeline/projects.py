"""The `project.process` job: gather the project's inputs, unpack archives safely, and record every
file with its size, type (by content), sha256 and derived assets. Status goes 1..99 with the bytes
handled, then 100.

Idempotent: every output has a name fixed by its input (blob keys, file rows upserted by name), so
a re-run after a crash rewrites the same things and ends with the same record.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, update

from omnidrop.auth.quotas import QuotaExceeded, QuotaMeter, Quotas
from omnidrop.db.clock import db_time
from omnidrop.db.models import Project, ProjectFile, UploadFile
from omnidrop.db.types import utcnow
from omnidrop.jobs.errors import JobFailed
from omnidrop.jobs.outputs import Outputs, folder_per_subject, keep_only, rows_with_ids
from omnidrop.jobs.runner import JobContext
from omnidrop.pipeline.archive import ArchiveRejected, RefusedEntry, UnpackLimits, is_archive, unpack
from omnidrop.pipeline.blobs import local_copy, put_file
from omnidrop.pipeline.classify import classify
from omnidrop.pipeline.fetch import FetchPolicy, LinkRefused, fetch
from omnidrop.pipeline.file_steps import run_file_steps
from omnidrop.pipeline.hashing import sha256_file
from omnidrop.pipeline.tours import build_project_tour
from omnidrop.projects.service import FAILED, PROCESSING, READY
from omnidrop.uploads.names import UniqueNames


@dataclass(frozen=True)
class Input:
    name: str
    blob_key: str
    size: int


class Progress:
    """Maps bytes handled onto status 1..99 and the job's progress; writes only when they move."""

    def __init__(self, ctx: JobContext, project_id: str, total: int, start: float = 0.0, span: float = 1.0) -> None:
        self.ctx, self.project_id, self.total = ctx, project_id, max(total, 1)
        self.start, self.span, self.done = start, span, 0
        self.status = 1

    async def advance(self, nbytes: int) -> None:
        self.done += nbytes
        await self.at(min(1.0, self.done / self.total))

    async def at(self, part: float) -> None:
        fraction = self.start + self.span * part
        await self.ctx.progress(fraction)  # throttled by the context
        status = 1 + int(98 * fraction)
        if status != self.status:
            self.status = status
            await set_status(self.ctx, self.project_id, status)


async def set_status(ctx: JobContext, project_id: str, status: int, **values) -> None:
    async with ctx.services.db.write() as s:
        await s.execute(update(Project).where(Project.id == project_id).values(status=status, updated_at=db_time(0), **values))


async def run(ctx: JobContext) -> None:
    project_id = ctx.job.subject_id
    async with ctx.services.db.read() as s:
        project = await s.get(Project, project_id)
    if project is None or project.state in (READY, FAILED):
        return
    await set_status(ctx, project_id, max(1, project.status), state=PROCESSING)
    # Downloaded and unpacked bytes count against the owner's quota as they are written.
    async with ctx.services.db.read() as s:
        meter = await _quotas(ctx).meter(s, project.owner_id, project_id=project_id)
    workdir = Path(tempfile.mkdtemp(prefix=f"omnidrop-{project_id}-"))
    try:
        if project.download_link:
            inputs = [await _download(ctx, project, meter)]
            progress = Progress(ctx, project_id, inputs[0].size, start=0.5, span=0.5)
        else:
            inputs = await _session_inputs(ctx, project.upload_session_id)
            progress = Progress(ctx, project_id, sum(i.size for i in inputs))
        taken = project_names()
        refused: list[dict] = []  # archive entries the extension allow-list kept out, for the record
        written: dict[str, set[str]] = {}  # this attempt's files: name -> the keys it stored for it
        for item in inputs:
            await _process_input(ctx, project, item, workdir, taken, progress, meter, refused, written)
        # Outputs only a dead attempt (or an earlier run) made go, now that this attempt's are durable.
        kept = set().union(*written.values()) | {i.blob_key for i in inputs}
        await _keep_only(ctx, project_id, set(written), kept)
    except QuotaExceeded as exc:
        await _discard_outputs(ctx, project_id)
        raise JobFailed(exc.code, str(exc)) from None
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
    tour = await build_project_tour(ctx, project_id)  # from the files recorded: safe to redo after a crash
    await set_status(ctx, project_id, 100, state=READY, ready_at=db_time(0), refused_entries=refused or None, tour=tour)


def _quotas(ctx: JobContext) -> Quotas:
    return ctx.services.uploads.quotas or Quotas(ctx.settings.default_storage_quota_bytes)


async def _keep_only(ctx: JobContext, project_id: str, names: set[str], keys: set[str]) -> None:
    """Rows and blobs of files this attempt did not make go (rows first: no row ever points at a
    removed blob). Safe to repeat: it only removes what the attempt did not write."""
    async with ctx.services.db.write() as s:
        await s.execute(delete(ProjectFile).where(ProjectFile.project_id == project_id,
                                                  ProjectFile.name.not_in(names)))
    await keep_only(ctx.services.store, outputs_prefix(project_id), keys, nested=True)


async def _discard_outputs(ctx: JobContext, project_id: str) -> None:
    """Remove every file the project derived (rows first, then blobs), so a project that failed on
    the quota holds nothing half-stored and gives its bytes back. Safe to repeat after a crash."""
    async with ctx.services.db.write() as s:
        await s.execute(delete(ProjectFile).where(ProjectFile.project_id == project_id))
    await ctx.services.store.delete_prefix(outputs_prefix(project_id))


async def failed(ctx: JobContext, code: str, message: str) -> None:
    """The project failed for good: it lists no files (the runner then removes their blobs, OUTPUTS)."""
    async with ctx.services.db.write() as s:
        await s.execute(
            update(Project).where(Project.id == ctx.job.subject_id)
            # status 100: processing is over, so a client polling "until status == 100" stops; state says how.
            .values(status=100, state=FAILED, error_code=code, error_message=message, updated_at=db_time(0))
        )
        await s.execute(delete(ProjectFile).where(ProjectFile.project_id == ctx.job.subject_id))


async def _session_inputs(ctx: JobContext, session_id: str) -> list[Input]:
    async with ctx.services.db.read() as s:
        files = (await s.scalars(select(UploadFile).where(UploadFile.session_id == session_id).order_by(UploadFile.id))).all()
    return [Input(f.name, f.blob_key, f.total) for f in files]


async def _download(ctx: JobContext, project: Project, meter: QuotaMeter) -> Input:
    settings = ctx.settings
    policy = FetchPolicy(settings.download_max_bytes, settings.download_timeout_seconds,
                         settings.download_connect_timeout_seconds, tuple(settings.download_allow))
    key = f"projects/{project.id}/source/download"
    store = ctx.services.store

    async def metered(blocks):
        async for block in blocks:
            meter.charge(len(block))  # before the block is written
            yield block

    async def sink(blocks) -> int:  # a re-run downloads again over what a killed attempt left
        return await store.put(key, metered(blocks))

    downloading = Progress(ctx, project.id, 1, start=0.0, span=0.5)

    async def progress(done: int, expected: int | None) -> None:
        if expected:
            await downloading.at(done / expected)

    try:
        fetched = await fetch(project.download_link, policy, sink, progress)
    except LinkRefused as exc:
        await store.delete(key)  # a partial download is not kept
        raise JobFailed("download_failed", exc.reason) from None
    return Input(fetched.filename, key, fetched.size)


def _unpack_limits(ctx: JobContext) -> UnpackLimits:
    s = ctx.settings
    # Entries are held to the extensions uploads are (README: OMNIDROP_ALLOWED_EXTENSIONS).
    allowed = tuple(e.lower().lstrip(".") for e in s.allowed_extensions)
    return UnpackLimits(max_entries=s.archive_max_entries, max_total_bytes=s.archive_max_total_bytes,
                        max_file_bytes=s.max_file_bytes, max_ratio=s.archive_max_ratio, max_depth=s.archive_max_depth,
                        allowed_extensions=allowed)


async def _process_input(ctx: JobContext, project: Project, item: Input, workdir: Path, taken: UniqueNames,
                         progress: Progress, meter: QuotaMeter, refused: list[dict],
                         written: dict[str, set[str]]) -> None:
    store = ctx.services.store
    async with local_copy(store, item.blob_key, workdir) as path:
        await _record(ctx, project, taken.claim(item.name), item.name, item.blob_key, path, written)
        if not await asyncio.to_thread(is_archive, path):
            await progress.advance(item.size)
            return
        dest = Path(tempfile.mkdtemp(dir=workdir))
        try:
            kept_out: list[RefusedEntry] = []
            unpacked = await asyncio.to_thread(unpack, path, dest, _unpack_limits(ctx), meter, kept_out)
        except ArchiveRejected as exc:
            where = f" (entry {exc.entry})" if exc.entry else ""
            raise JobFailed(f"archive_{exc.code}", f"{item.name}: {exc.reason}{where}") from None
    refused.extend({"entry": f"{item.name}:{r.source}", "error": r.code, "message": r.reason} for r in kept_out)
    for entry in unpacked:
        name = taken.claim(entry.name)
        key = f"projects/{project.id}/files/{name}"
        await put_file(store, key, entry.path)
        await _record(ctx, project, name, f"{item.name}:{entry.source}", key, entry.path, written)
        entry.path.unlink()
    await progress.advance(item.size)


def project_names() -> UniqueNames:
    """A project's file names: `a.jpg`, then `a_1.jpg`, `a_2.jpg`… Deterministic, so a re-run names
    every file the same way; linear however many inputs share a name."""
    return UniqueNames(first=1, fold=lambda name: name)


async def _record(ctx: JobContext, project: Project, name: str, origin: str, key: str, path: Path,
                  written: dict[str, set[str]]) -> None:
    digest, kind = await asyncio.gather(asyncio.to_thread(sha256_file, path), asyncio.to_thread(classify, path, name))
    derived = await run_file_steps(ctx, project.id, name, path, kind)
    written[name] = {key, *derived.assets.values()}
    size = path.stat().st_size
    async with ctx.services.db.write() as s:
        row = (
            await s.execute(select(ProjectFile).where(ProjectFile.project_id == project.id, ProjectFile.name == name))
        ).scalar_one_or_none()
        if row is None:
            row = ProjectFile(project_id=project.id, name=name, created_at=utcnow())
            s.add(row)
        row.origin, row.blob_key, row.size, row.sha256 = origin, key, size, digest
        row.kind, row.mime, row.assets = str(kind.kind), kind.mime, derived.assets
        row.details = _jsonable({**kind.details, **derived.details})


def _jsonable(details: dict) -> dict:
    return {k: (v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)) for k, v in details.items()}



# -- outputs (jobs/outputs.py): projects/<id>/files|thumbs|frames/..., source/download ----------------
# Everything below a project's prefix is derived (its uploads lie in the upload session's own place).


def outputs_prefix(project_id: str) -> str:
    return f"projects/{project_id}"


async def _failed_outputs(services, project_id: str) -> list[str]:
    async with services.db.read() as s:
        project = await s.get(Project, project_id)
    return [outputs_prefix(project_id)] if project is not None else []


OUTPUTS = Outputs(of_failed_subject=_failed_outputs, root="projects",
                  subject_prefix=folder_per_subject("projects"), existing=rows_with_ids(Project.id))
