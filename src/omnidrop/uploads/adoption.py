"""Adding bytes that arrived through another protocol to an upload session, under a filename.

The browser uploader sends ordinary files over tus and very large ones as S3-style multipart
uploads (Uppy's Companion routes), then gathers them into one File Upload API session to make a
project. Nothing is copied: the session gets a file row pointing at the finished blob.

- A finished tus/IETF upload (its own single-file session) is moved: its file row changes session
  and name in one transaction and the source session becomes `consumed`, so it never expires and
  quotas count the bytes once. The tus URL then answers 410 like any upload handed over.
- A completed multipart object has no file row yet: one is added, complete, sized as stored; the
  quota and the session's size caps apply as for bytes written directly.
HTTP-free like the rest of the core.
"""

from __future__ import annotations

from sqlalchemy import func, select

from omnidrop.db.clock import db_time
from omnidrop.db.models import UploadFile, UploadSession
from omnidrop.uploads.core import OPEN, FileProgress, UploadCore
from omnidrop.uploads.errors import FileTooLarge, SessionTooLarge, UploadError
from omnidrop.uploads.names import check_extension, flatten_filename

CONSUMED = "consumed"  # same state name as uploads.resumable uses for handed-over uploads


class SourceNotFound(UploadError):
    """The upload to adopt is unknown, another owner's, unfinished, or already handed over."""

    code = "source_upload_not_found"


class FileExists(UploadError):
    code = "file_exists"


async def adopt_resumable(core: UploadCore, owner_id: str, session_id: str, raw_name: str,
                          resumable_id: str) -> FileProgress:
    """Move the finished tus/IETF upload `resumable_id` into session `session_id` as `raw_name`."""
    name = _checked_name(core, raw_name)
    async with core.db.write() as s:
        target = await core.live_session(s, owner_id, session_id, for_update=True)
        source = (await s.execute(select(UploadSession).where(
            UploadSession.id == resumable_id, UploadSession.owner_id == owner_id, UploadSession.state == OPEN,
        ).with_for_update())).scalar_one_or_none()
        f = None if source is None else (await s.execute(
            select(UploadFile).where(UploadFile.session_id == resumable_id))).scalar_one_or_none()
        if source is None or f is None or source.id == target.id:
            raise SourceNotFound(f"no upload {resumable_id!r} to add")
        if not f.complete:
            raise SourceNotFound(f"upload {resumable_id!r} is not finished", received=f.received)
        await _check_room(core, s, target.id, name, f.total or 0, owner_id=None)
        f.session_id, f.name, f.updated_at = target.id, name, db_time(0)
        source.state, source.expires_at = CONSUMED, None
        return FileProgress(name=name, received=f.received, total=f.total, complete=True)


async def adopt_blob(core: UploadCore, owner_id: str, session_id: str, raw_name: str, *, blob_key: str,
                     size: int) -> FileProgress:
    """Add the already stored, complete blob `blob_key` (`size` bytes) to the session as `raw_name`."""
    name = _checked_name(core, raw_name)
    now = db_time(0)
    async with core.db.write() as s:
        target = await core.live_session(s, owner_id, session_id, for_update=True)
        if await s.scalar(select(func.count()).select_from(UploadFile).where(UploadFile.blob_key == blob_key)):
            raise SourceNotFound("that upload was already added to a session")
        await _check_room(core, s, target.id, name, size, owner_id=owner_id)
        s.add(UploadFile(session_id=target.id, name=name, blob_key=blob_key, total=size, received=size,
                         complete=True, created_at=now, updated_at=now, completed_at=now))
        return FileProgress(name=name, received=size, total=size, complete=True)


def _checked_name(core: UploadCore, raw_name: str) -> str:
    name = flatten_filename(raw_name)
    check_extension(name, core.limits.allowed_extensions)
    return name


async def _check_room(core: UploadCore, s, session_id: str, name: str, size: int, *, owner_id: str | None) -> None:
    """Same name, size caps and (for new bytes, `owner_id` given) the quota, as a direct write checks."""
    if await core.file_named(s, session_id, name) is not None:
        raise FileExists(f"the session already has a file {name!r}")
    if size > core.limits.max_file_bytes:
        raise FileTooLarge(core.limits.max_file_bytes)
    used = await s.scalar(select(func.coalesce(func.sum(UploadFile.total), 0)).where(UploadFile.session_id == session_id))
    if used + size > core.limits.max_session_bytes:
        raise SessionTooLarge(core.limits.max_session_bytes)
    if owner_id is not None and core.quotas:
        await core.quotas.check(s, owner_id, size)
