"""The upload core: sessions of files, offsets, limits, expiry, the single-writer rule.

Storage-agnostic and HTTP-free: protocols hand it a byte stream and numbers, it answers with progress
or raises an `UploadError`. A byte counts in `received` only after the blob store says it is durable,
so after a crash the next request sees exactly the acknowledged prefix.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update

from omnidrop.db.engine import Database
from omnidrop.db.models import UploadFile, UploadSession
from omnidrop.db.types import utcnow
from omnidrop.storage.base import BlobStore
from omnidrop.uploads.errors import (
    BodyInterrupted,
    FileBusy,
    FileNotFound,
    FileTooLarge,
    InvalidUploadId,
    LengthMismatch,
    NonContiguous,
    SessionNotFound,
    SessionTooLarge,
    TotalMismatch,
)
from omnidrop.uploads.ids import is_valid_upload_id, new_id
from omnidrop.uploads.leases import Lease, LeaseLost
from omnidrop.uploads.names import check_extension, flatten_filename

log = logging.getLogger(__name__)

OPEN = "open"
DELETING = "deleting"


@dataclass(frozen=True)
class UploadLimits:
    ttl_seconds: int = 259_200
    max_file_bytes: int = 200 * 1024**3
    max_session_bytes: int = 2048 * 1024**3
    allowed_extensions: list[str] = field(default_factory=list)
    lease_ttl: float = 30.0
    lease_renew: float = 2.0
    lease_wait: float = 5.0


@dataclass(frozen=True)
class FileProgress:
    name: str
    received: int
    total: int
    complete: bool


@dataclass(frozen=True)
class SessionInfo:
    id: str
    expires_at: datetime
    files: list[FileProgress]


def _progress(f: UploadFile) -> FileProgress:
    return FileProgress(name=f.name, received=f.received, total=f.total, complete=f.complete)


class UploadCore:
    def __init__(self, db: Database, store: BlobStore, limits: UploadLimits) -> None:
        self.db = db
        self.store = store
        self.limits = limits

    # -- sessions -----------------------------------------------------------------------------

    async def create_session(self, owner_id: str) -> SessionInfo:
        now = utcnow()
        session = UploadSession(
            id=new_id(), owner_id=owner_id, state=OPEN, created_at=now,
            expires_at=now + timedelta(seconds=self.limits.ttl_seconds),
        )
        async with self.db.write() as s:
            s.add(session)
        return SessionInfo(id=session.id, expires_at=session.expires_at, files=[])

    async def get_session(self, owner_id: str, session_id: str) -> SessionInfo:
        async with self.db.read() as s:
            session = await self._live_session(s, owner_id, session_id)
            files = (
                await s.scalars(select(UploadFile).where(UploadFile.session_id == session.id).order_by(UploadFile.id))
            ).all()
            return SessionInfo(id=session.id, expires_at=session.expires_at, files=[_progress(f) for f in files])

    async def get_file(self, owner_id: str, session_id: str, raw_name: str) -> FileProgress:
        name = flatten_filename(raw_name)
        async with self.db.read() as s:
            session = await self._live_session(s, owner_id, session_id)
            f = await self._file(s, session.id, name)
            if f is None:
                raise FileNotFound(f"no file {name!r} in this session")
            return _progress(f)

    async def delete_session(self, owner_id: str, session_id: str) -> None:
        """Idempotent: an unknown or already deleted session is not an error."""
        self._check_id(session_id)
        async with self.db.write() as s:
            result = await s.execute(
                update(UploadSession)
                .where(UploadSession.id == session_id, UploadSession.owner_id == owner_id,
                       UploadSession.state.in_([OPEN, DELETING]))
                .values(state=DELETING)
            )
        if result.rowcount:
            await self._purge(session_id)

    async def reap_expired(self, now: datetime | None = None) -> int:
        """Delete sessions past their expiry (and any whose deletion was interrupted), bytes first."""
        now = now or utcnow()
        async with self.db.read() as s:
            ids = (
                await s.scalars(
                    select(UploadSession.id).where(
                        ((UploadSession.state == OPEN) & (UploadSession.expires_at < now))
                        | (UploadSession.state == DELETING)
                    )
                )
            ).all()
        for session_id in ids:
            async with self.db.write() as s:
                await s.execute(
                    update(UploadSession)
                    .where(UploadSession.id == session_id, UploadSession.state.in_([OPEN, DELETING]))
                    .values(state=DELETING)
                )
            await self._purge(session_id)
        if ids:
            log.info("reaped %d upload sessions", len(ids))
        return len(ids)

    async def _purge(self, session_id: str) -> None:
        # Bytes first: if we die in between, the row in DELETING state brings the reaper back.
        await self.store.delete_prefix(f"uploads/{session_id}")
        async with self.db.write() as s:
            await s.execute(delete(UploadFile).where(UploadFile.session_id == session_id))
            await s.execute(delete(UploadSession).where(UploadSession.id == session_id))

    # -- writes -------------------------------------------------------------------------------

    async def write(
        self,
        owner_id: str,
        session_id: str,
        raw_name: str,
        *,
        start: int,
        length: int,
        total: int,
        body: AsyncIterable[bytes],
    ) -> FileProgress:
        """Write bytes [start, start+length) of a file of `total` bytes from `body`.

        Overlapping bytes overwrite in place; a gap is refused with the current `received`; a complete
        file is left unchanged and its body ignored. An interrupted body keeps what arrived.
        """
        name = flatten_filename(raw_name)
        check_extension(name, self.limits.allowed_extensions)
        f = await self._open_file(owner_id, session_id, name, total)
        if f.complete:
            return _progress(f)
        if start > f.received:
            raise NonContiguous(f.received)

        file_id = f.id
        lease = Lease(self.db, file_id, self.limits.lease_ttl, self.limits.lease_renew)
        if not await lease.claim(self.limits.lease_wait):
            raise FileBusy(await self._received(file_id))
        try:
            # Re-read under the lease: the previous writer may have moved `received` on.
            async with self.db.read() as s:
                f = await s.get(UploadFile, file_id)
            if f is None:
                raise SessionNotFound("the session was deleted")
            if f.complete:
                return _progress(f)
            if start > f.received:
                raise NonContiguous(f.received)
            return await self._stream(f, lease, start, length, body)
        except LeaseLost:
            raise FileBusy(await self._received(file_id)) from None
        finally:
            try:
                await lease.release()
            except Exception:  # the lease expires by itself; never mask the real outcome
                log.exception("could not release lease on file %s", file_id)

    async def _stream(
        self, f: UploadFile, lease: Lease, start: int, length: int, body: AsyncIterable[bytes]
    ) -> FileProgress:
        count = 0
        interrupted = False

        async def guarded() -> AsyncIterator[bytes]:
            nonlocal count, interrupted
            try:
                async for chunk in body:
                    if count + len(chunk) > length:
                        raise LengthMismatch(length, count + len(chunk))
                    await lease.keep()  # never write under a lease that may have been taken over
                    count += len(chunk)
                    yield chunk
            except BodyInterrupted:
                interrupted = True

        written = await self.store.write(f.blob_key, start, guarded())
        if not interrupted and written != length:
            raise LengthMismatch(length, written)
        return await self._commit(f, lease, start + written)

    async def _commit(self, f: UploadFile, lease: Lease, end: int) -> FileProgress:
        now = utcnow()
        async with self.db.write() as s:
            row = (
                await s.execute(
                    update(UploadFile)
                    .where(UploadFile.id == f.id, UploadFile.lease_owner == lease.token)
                    .values(
                        received=case((UploadFile.received < end, end), else_=UploadFile.received),
                        updated_at=now,
                    )
                    .returning(UploadFile.received)
                )
            ).first()
        if row is None:
            raise LeaseLost()
        received = row[0]
        if received == f.total:
            await self.store.finalize(f.blob_key, f.total)
            async with self.db.write() as s:
                await s.execute(
                    update(UploadFile).where(UploadFile.id == f.id).values(complete=True, completed_at=now)
                )
        return FileProgress(name=f.name, received=received, total=f.total, complete=received == f.total)

    async def _open_file(self, owner_id: str, session_id: str, name: str, total: int) -> UploadFile:
        """Find or create the file row, enforcing size caps, and keep the session alive."""
        now = utcnow()
        async with self.db.write() as s:
            session = await self._live_session(s, owner_id, session_id, for_update=True)
            f = await self._file(s, session.id, name)
            if f is None:
                if total > self.limits.max_file_bytes:
                    raise FileTooLarge(self.limits.max_file_bytes)
                used = await s.scalar(
                    select(func.coalesce(func.sum(UploadFile.total), 0)).where(UploadFile.session_id == session.id)
                )
                if used + total > self.limits.max_session_bytes:
                    raise SessionTooLarge(self.limits.max_session_bytes)
                f = UploadFile(
                    session_id=session.id, name=name, blob_key=f"uploads/{session.id}/{new_id(16)}",
                    total=total, received=0, complete=False, created_at=now, updated_at=now,
                )
                s.add(f)
                await s.flush()
            elif not f.complete and f.total != total:
                raise TotalMismatch(f.total)
            # "Abandoned" means no activity for the TTL, so every write pushes expiry out.
            session.expires_at = now + timedelta(seconds=self.limits.ttl_seconds)
            return f

    async def _received(self, file_id: int) -> int:
        async with self.db.read() as s:
            return (await s.scalar(select(UploadFile.received).where(UploadFile.id == file_id))) or 0

    # -- lookups ------------------------------------------------------------------------------

    @staticmethod
    def _check_id(session_id: str) -> None:
        if not is_valid_upload_id(session_id):
            raise InvalidUploadId(f"malformed upload_id {session_id!r}")

    async def _live_session(self, s, owner_id: str, session_id: str, *, for_update: bool = False) -> UploadSession:
        self._check_id(session_id)
        query = select(UploadSession).where(
            UploadSession.id == session_id,
            UploadSession.owner_id == owner_id,  # another owner's session is simply not found
            UploadSession.state == OPEN,
            UploadSession.expires_at > utcnow(),
        )
        if for_update:  # serialises file creation per session on PostgreSQL; SQLite has BEGIN IMMEDIATE
            query = query.with_for_update()
        session = (await s.execute(query)).scalar_one_or_none()
        if session is None:
            raise SessionNotFound(f"no upload session {session_id!r}")
        return session

    @staticmethod
    async def _file(s, session_id: str, name: str) -> UploadFile | None:
        return (
            await s.execute(select(UploadFile).where(UploadFile.session_id == session_id, UploadFile.name == name))
        ).scalar_one_or_none()
