"""The upload core: sessions of files, offsets, limits, expiry, the single-writer rule.

Storage-agnostic and HTTP-free: protocols hand it a byte stream and numbers, it answers with progress
or raises an `UploadError`. A byte counts in `received` only after the blob store says it is durable,
so after a crash the next request sees exactly the acknowledged prefix.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from omnidrop.auth.quotas import Quotas
from omnidrop.db.clock import db_time, seconds
from omnidrop.db.engine import Database
from omnidrop.db.models import UploadFile, UploadSession
from omnidrop.storage.base import BlobStore
from omnidrop.telemetry.context import body_counted
from omnidrop.telemetry.metrics import LEASE_TAKEOVERS, storage_errors
from omnidrop.uploads.errors import (
    BodyInterrupted,
    FileBusy,
    FileNotFound,
    FileTooLarge,
    InvalidUploadId,
    LengthExceeded,
    LengthMismatch,
    NonContiguous,
    OffsetMismatch,
    SessionNotFound,
    SessionTooLarge,
    TotalMismatch,
    UploadError,
)
from omnidrop.uploads.fence import LeaseFence
from omnidrop.uploads.guarded_body import ChunkCheck, GuardedBody
from omnidrop.uploads.ids import is_valid_upload_id, new_id
from omnidrop.uploads.leases import Lease, LeaseLost
from omnidrop.uploads.names import check_extension, flatten_filename

log = logging.getLogger(__name__)

OPEN = "open"
# Errors that reach a store's write from the body it reads, not from the store.
_NOT_THE_STORES = (UploadError, BodyInterrupted, LeaseLost)
EXPIRY_TOUCH_EVERY = timedelta(minutes=1)
DELETING = "deleting"


# The statements every chunk runs, built once: building and cache-keying one costs about as much as
# SQLite running it (a one-row UPDATE: 0.37 ms built per call, 0.21 ms prebuilt).
_LIVE_SESSION = select(UploadSession).where(
    UploadSession.id == bindparam("session_id"),
    UploadSession.owner_id == bindparam("owner_id"),  # another owner's session is simply not found
    UploadSession.state == OPEN,
    UploadSession.expires_at > db_time(0),  # the database's clock decides, for every node alike
)
# Serialises file creation per session on PostgreSQL; SQLite has BEGIN IMMEDIATE.
_LIVE_SESSION_FOR_UPDATE = _LIVE_SESSION.with_for_update()
# "Abandoned" means no activity for the TTL, so writes push expiry out: at most once a minute, so a
# stream of chunks does not rewrite the session row on every request. All in the database's time.
_sessions = UploadSession.__table__.c
_MOVE_EXPIRY = (
    update(UploadSession.__table__)
    .where(_sessions.id == bindparam("session_id"), _sessions.state == OPEN,
           or_(_sessions.expires_at.is_(None), _sessions.expires_at < db_time(seconds("due_before"))))
    .values(expires_at=db_time(seconds("ttl")))
)
MOVE_EXPIRY = _MOVE_EXPIRY  # for modules built on the core that keep their sessions alive themselves
_FILE_NAMED = select(UploadFile).where(UploadFile.session_id == bindparam("session_id"),
                                       UploadFile.name == bindparam("name"))
# Core (table-level) rather than ORM UPDATEs: the ORM makes a new statement per execution, which
# spends most of the time re-keying it for the compiled cache.
_files = UploadFile.__table__.c
_RECEIVED_AFTER = case((_files.received < bindparam("end"), bindparam("end")), else_=_files.received)
_GOING_ON = _RECEIVED_AFTER < _files.total
_COMMIT = (
    update(UploadFile.__table__)
    .where(_files.id == bindparam("file_id"), _files.lease_owner == bindparam("token"))
    .values(
        received=_RECEIVED_AFTER,
        # The store's record of what makes up the blob moves with `received`, under the same lease.
        store_state=bindparam("store_state"),
        updated_at=db_time(0),
        # Not completing: give the lease back in the same statement (one round trip less per
        # chunk). Completing keeps it until the blob is finalized.
        lease_owner=case((_GOING_ON, None), else_=_files.lease_owner),
        lease_expires=case((_GOING_ON, None), else_=_files.lease_expires),
    )
    .returning(_files.received, _files.lease_owner)
)


# What a module built on the core (resumable uploads) records in the very transaction that marks a
# file complete, given that transaction and the file's total: its own state and the upload's finished
# event then exist exactly when the completion does, whatever line a crash hits.
OnComplete = Callable[[AsyncSession, int], Awaitable[None]]


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
    total: int | None  # None while a resumable upload defers its length
    complete: bool
    completed_now: bool = False  # this very write completed the file (exactly one write sees True)


@dataclass(frozen=True)
class SessionInfo:
    id: str
    expires_at: datetime
    files: list[FileProgress]


def _session_params(owner_id: str, session_id: str) -> dict:
    return {"owner_id": owner_id, "session_id": session_id}


def _progress(f: UploadFile) -> FileProgress:
    return FileProgress(name=f.name, received=f.received, total=f.total, complete=f.complete)


async def _drop_prefix(chunks: AsyncIterable[bytes], n: int) -> AsyncIterator[bytes]:
    """The stream without its first `n` bytes (still read, so the caller counts and checks them)."""
    async for chunk in chunks:
        if n >= len(chunk):
            n -= len(chunk)
            continue
        yield chunk[n:] if n else chunk
        n = 0


class UploadCore:
    def __init__(self, db: Database, store: BlobStore, limits: UploadLimits, quotas: Quotas | None = None) -> None:
        self.db = db
        self.store = store
        self.limits = limits
        self.quotas = quotas

    # -- sessions -----------------------------------------------------------------------------

    async def create_session(self, owner_id: str) -> SessionInfo:
        session = UploadSession(
            id=new_id(), owner_id=owner_id, state=OPEN, created_at=db_time(0),
            expires_at=db_time(self.limits.ttl_seconds),
        )
        async with self.db.write() as s:
            if self.quotas:
                await self.quotas.check(s, owner_id)
            s.add(session)
            await s.flush()
            await s.refresh(session)  # the times the database gave it
        return SessionInfo(id=session.id, expires_at=session.expires_at, files=[])

    async def get_session(self, owner_id: str, session_id: str) -> SessionInfo:
        async with self.db.read() as s:
            session = await self.live_session(s, owner_id, session_id)
            files = (
                await s.scalars(select(UploadFile).where(UploadFile.session_id == session.id).order_by(UploadFile.id))
            ).all()
            return SessionInfo(id=session.id, expires_at=session.expires_at, files=[_progress(f) for f in files])

    async def get_file(self, owner_id: str, session_id: str, raw_name: str) -> FileProgress:
        name = flatten_filename(raw_name)
        async with self.db.read() as s:
            session = await self.live_session(s, owner_id, session_id)
            f = await self.file_named(s, session.id, name)
            if f is None:
                raise FileNotFound(f"no file {name!r} in this session")
            return _progress(f)

    async def delete_session(self, owner_id: str, session_id: str) -> None:
        """Idempotent: an unknown or already deleted session is not an error."""
        self._check_id(session_id)
        mark = (update(UploadSession)
                .where(UploadSession.id == session_id, UploadSession.owner_id == owner_id,
                       UploadSession.state.in_([OPEN, DELETING]))
                .values(state=DELETING))
        # run_write: on a full disk it runs again once the database has been given room (Database.on_disk_full).
        if await self.db.run_write(lambda s: s.execute(mark).rowcount):
            await self._purge(session_id)

    async def reap_expired(self, now: datetime | None = None) -> int:
        """Delete sessions past their expiry (and any whose deletion was interrupted), bytes first.
        Expiry is judged by the database's clock unless a test hands in `now`."""
        now = db_time(0) if now is None else now
        async with self.db.read() as s:
            ids = (
                await s.scalars(
                    select(UploadSession.id).where(
                        ((UploadSession.state == OPEN) & (UploadSession.expires_at < now))
                        | (UploadSession.state == DELETING)
                    )
                )
            ).all()
        reaped = 0
        for session_id in ids:
            try:
                async with self.db.write() as s:
                    await s.execute(
                        update(UploadSession)
                        .where(UploadSession.id == session_id, UploadSession.state.in_([OPEN, DELETING]))
                        .values(state=DELETING)
                    )
                await self._purge(session_id)
            except Exception:  # one session whose bytes cannot go now must not keep the rest
                log.exception("could not reap upload session %s; the next reap tries again", session_id)
                continue
            reaped += 1
        if reaped:
            log.info("reaped %d upload sessions", reaped)
        return reaped

    async def _purge(self, session_id: str) -> None:
        # Bytes first: if we die in between, the row in DELETING state brings the reaper back.
        await self.store.delete_prefix(f"uploads/{session_id}")

        def forget(s) -> None:
            s.execute(delete(UploadFile).where(UploadFile.session_id == session_id))
            s.execute(delete(UploadSession).where(UploadSession.id == session_id))

        await self.db.run_write(forget)

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
        self._check_id(session_id)
        lease = self._lease(None)
        f = await self.db.run_write(lambda s: self._find_and_claim(s, owner_id, session_id, name, total, start, lease))
        if f is None:  # the first chunk: the file row is created first (with the size and quota checks)
            f = await self._open_file(owner_id, session_id, name, total)
        if f.complete:
            return _progress(f)
        if start > f.received:
            raise NonContiguous(f.received)
        return await self._write_leased(f.id, start=start, length=length, body=body, lease=lease)

    async def append(
        self,
        file_id: int,
        *,
        start: int,
        body: AsyncIterable[bytes],
        length: int | None = None,
        total: int | None = None,
        check: ChunkCheck | None = None,
        on_complete: OnComplete | None = None,
    ) -> FileProgress:
        """The resumable protocols' write, to a file already created: `start` must equal `received`.

        `length` None takes whatever the body brings, up to the file's total (or the size cap while the
        total is deferred). `total` declares a deferred length. With `check`, the bytes are verified
        after they are stored and before they count: a mismatch leaves `received` where it was, so
        the chunk is discarded (bytes past `received` are never acknowledged and get overwritten).
        `on_complete` runs inside the transaction that marks the file complete (once per file).
        """
        # A client that starts a new request has given up on its previous one (tus, IETF draft): a
        # writer that received nothing for a few renewal periods is stale and is taken over.
        return await self._write_leased(
            file_id, start=start, length=length, body=body, exact=True, total=total, check=check,
            stale_after=3 * self.limits.lease_renew, on_complete=on_complete,
        )

    async def _write_leased(
        self,
        file_id: int,
        *,
        start: int,
        length: int | None,
        body: AsyncIterable[bytes],
        exact: bool = False,
        total: int | None = None,
        check: ChunkCheck | None = None,
        stale_after: float | None = None,
        lease: Lease | None = None,
        on_complete: OnComplete | None = None,
    ) -> FileProgress:
        """`lease`: one the caller may already hold (claimed in its own transaction) or has yet to claim."""
        lease = lease or self._lease(stale_after)
        lease.file_id = file_id
        if lease.claimed is None and not await lease.claim(self.limits.lease_wait):
            raise FileBusy(await self._received(file_id))
        try:
            # The row as the claim saw it: the previous writer may have moved `received` on.
            f = lease.claimed
            if f is None:
                raise SessionNotFound("the session was deleted")
            if exact and start != f.received:
                raise OffsetMismatch(f.received)
            if total is not None:
                f = await self._declare_total(f, total)
            if f.complete:
                return _progress(f)
            if start > f.received:
                raise NonContiguous(f.received)
            if length is not None and f.total is not None and start + length > f.total:
                raise LengthExceeded(f.total)
            return await self._stream(f, lease, start, length, body, check, on_complete)
        except LeaseLost:
            LEASE_TAKEOVERS.labels("upload").inc()
            raise FileBusy(await self._received(file_id)) from None
        finally:
            try:
                await lease.release()
            except Exception:  # the lease expires by itself; never mask the real outcome
                log.exception("could not release lease on file %s", file_id)

    def _lease(self, stale_after: float | None) -> Lease:
        return Lease(self.db, None, self.limits.lease_ttl, self.limits.lease_renew, stale_after)

    async def _declare_total(self, f: UploadFile, total: int) -> UploadFile:
        """Fix a deferred length once; it can never change after."""
        if f.total is not None:
            if f.total != total:
                raise TotalMismatch(f.total)
            return f
        if total < f.received:
            raise TotalMismatch(f.received)
        if total > self.limits.max_file_bytes:
            raise FileTooLarge(self.limits.max_file_bytes)
        async with self.db.write() as s:
            await s.execute(
                update(UploadFile).where(UploadFile.id == f.id, UploadFile.total.is_(None)).values(total=total)
            )
            return await s.get(UploadFile, f.id, populate_existing=True)

    async def _stream(
        self,
        f: UploadFile,
        lease: Lease,
        start: int,
        length: int | None,
        body: AsyncIterable[bytes],
        check: ChunkCheck | None = None,
        on_complete: OnComplete | None = None,
    ) -> FileProgress:
        if length is not None:
            guarded = GuardedBody(body, length, lambda got: LengthMismatch(length, got), lease, check)
        else:
            end = f.total if f.total is not None else self.limits.max_file_bytes
            guarded = GuardedBody(body, end - start, lambda got: LengthExceeded(end), lease, check)

        # Acknowledged bytes are never written again: bytes re-sent below `received` are counted as
        # written but not stored. So every store only ever gets writes at the acknowledged end (S3
        # parts cannot be edited; the local store keeps a taken-over writer's file unread from there).
        skip = max(0, f.received - start)
        pieces = _drop_prefix(guarded, skip) if skip else guarded
        fence = LeaseFence(lease, f.store_state)
        with storage_errors("upload", _NOT_THE_STORES):
            stored = await self.store.write(f.blob_key, start + skip, pieces, fence=fence)
        body_counted(guarded.count, stored)  # once per request, for the metrics (telemetry/asgi.py)
        written = stored + min(skip, guarded.count)
        interrupted = guarded.interrupted
        if check is not None:
            if interrupted:  # a cut chunk cannot be verified, so none of it counts
                return _progress(f)
            check.verify()
        if not interrupted and length is not None and written != length:
            raise LengthMismatch(length, written)
        return await self._commit(f, lease, fence, start + written, on_complete)

    async def _commit(self, f: UploadFile, lease: Lease, fence: LeaseFence, end: int,
                      on_complete: OnComplete | None = None) -> FileProgress:
        params = {"file_id": f.id, "token": lease.token, "end": end, "store_state": fence.state}
        row = await self.db.run_write(lambda s: s.execute(_COMMIT, params).first())
        if row is None:
            raise LeaseLost()
        received, holder = row
        lease.released = holder is None
        completed_now = False
        if received == f.total:
            # Made from the committed record only, and checked against `total` before the file is
            # reported complete (BlobMismatch propagates: the file stays incomplete).
            with storage_errors("upload"):
                await self.store.finalize(f.blob_key, f.total, fence=fence)
            completed_now = await self._mark_complete(f.id, f.total, on_complete)
        return FileProgress(
            name=f.name, received=received, total=f.total, complete=received == f.total, completed_now=completed_now
        )

    async def _mark_complete(self, file_id: int, total: int, on_complete: OnComplete | None) -> bool:
        """Mark the file complete; True for the one write that did. `on_complete` joins that transaction,
        so what it records commits or rolls back with the completion (only once per file: no chunk pays)."""
        mark = (update(UploadFile)
                .where(UploadFile.id == file_id, UploadFile.complete.is_(False))
                .values(complete=True, completed_at=db_time(0))
                .execution_options(synchronize_session=False))
        if on_complete is None:
            return await self.db.run_write(lambda s: s.execute(mark).rowcount == 1)
        async with self.db.write() as s:
            if (await s.execute(mark)).rowcount != 1:
                return False
            await on_complete(s, total)
            return True

    # -- healing: the database holds a file whole, but it was never marked complete ----------------

    async def finish_whole(self, file_id: int, on_complete: OnComplete | None = None, *,
                           stale_after: float | None = None) -> bool:
        """Complete a file whose `received` reached its total but that was never marked complete: its
        writer died between those two commits (`_commit` then `_mark_complete`). Only once its lease is
        free (given back, lapsed, or with `stale_after` not renewed for that long, the rule a resumable
        PATCH takes a writer over by): the blob is finalized from the committed record under a lease
        of this call's own, exactly as the dead writer would have, and marked complete through the
        normal path, `on_complete` included. True when this call completed it."""
        lease = self._lease(stale_after)
        lease.file_id = file_id
        if not await lease.claim(0):
            return False  # a live writer holds it (it completes the file itself) or the row is gone
        try:
            f = lease.claimed
            if f is None or f.complete or f.total is None or f.received != f.total:
                return False
            fence = LeaseFence(lease, f.store_state)
            with storage_errors("upload"):
                await self.store.finalize(f.blob_key, f.total, fence=fence)
            done = await self._mark_complete(f.id, f.total, on_complete)
            if done:
                log.info("completed file %s, held whole but never marked complete", f.id)
            return done
        finally:
            try:
                await lease.release()
            except Exception:
                log.exception("could not release lease on file %s", file_id)

    async def stranded(self, limit: int = 100) -> list[tuple[int, str]]:
        """(file id, session id) of files held whole but not complete whose lease has lapsed by the
        database's clock, in live sessions: what `finish_whole` is for (a housekeeping chore)."""
        query = (select(UploadFile.id, UploadFile.session_id)
                 .join(UploadSession, UploadSession.id == UploadFile.session_id)
                 .where(UploadFile.complete.is_(False), UploadFile.total.is_not(None),
                        UploadFile.received == UploadFile.total, UploadSession.state != DELETING,
                        or_(UploadFile.lease_owner.is_(None), UploadFile.lease_expires < db_time(0)))
                 .order_by(UploadFile.id).limit(limit))
        async with self.db.read() as s:
            return [(file_id, session_id) for file_id, session_id in (await s.execute(query)).all()]

    def _find_and_claim(self, s: Session, owner_id: str, session_id: str, name: str, total: int, start: int,
                        lease: Lease) -> UploadFile | None:
        """An existing file's row, with its lease taken when this request is going to write, and the
        session kept alive: all in the caller's one transaction. None when the file is new."""
        session = s.execute(_LIVE_SESSION_FOR_UPDATE, _session_params(owner_id, session_id)).scalar_one_or_none()
        if session is None:
            raise SessionNotFound(f"no upload session {session_id!r}")
        f = s.execute(_FILE_NAMED, {"session_id": session.id, "name": name}).scalar_one_or_none()
        if f is None:
            return None
        if not f.complete and f.total != total:
            raise TotalMismatch(f.total)
        s.execute(_MOVE_EXPIRY, self.expiry_params(session.id))
        if not f.complete and start <= f.received:
            lease.file_id = f.id
            if lease.claim_in(s):
                return lease.claimed
        return f

    def expiry_params(self, session_id: str) -> dict:
        """Parameters of _MOVE_EXPIRY (MOVE_EXPIRY), which keeps a session a write has touched alive."""
        ttl = self.limits.ttl_seconds
        return {"session_id": session_id, "ttl": ttl, "due_before": ttl - EXPIRY_TOUCH_EVERY.total_seconds()}

    async def _open_file(self, owner_id: str, session_id: str, name: str, total: int) -> UploadFile:
        """Find or create the file row, enforcing size caps, and keep the session alive."""
        async with self.db.write() as s:
            session = await self.live_session(s, owner_id, session_id, for_update=True)
            f = await self.file_named(s, session.id, name)
            if f is None:
                if total > self.limits.max_file_bytes:
                    raise FileTooLarge(self.limits.max_file_bytes)
                used = await s.scalar(
                    select(func.coalesce(func.sum(UploadFile.total), 0)).where(UploadFile.session_id == session.id)
                )
                if used + total > self.limits.max_session_bytes:
                    raise SessionTooLarge(self.limits.max_session_bytes)
                if self.quotas:
                    await self.quotas.check(s, owner_id, total)
                f = UploadFile(
                    session_id=session.id, name=name, blob_key=f"uploads/{session.id}/{new_id(16)}",
                    total=total, received=0, complete=False, created_at=db_time(0), updated_at=db_time(0),
                )
                s.add(f)
                await s.flush()
            elif not f.complete and f.total != total:
                raise TotalMismatch(f.total)
            await s.execute(_MOVE_EXPIRY, self.expiry_params(session.id))
            return f

    async def _received(self, file_id: int) -> int:
        return await self.db.run_read(
            lambda s: s.scalar(select(UploadFile.received).where(UploadFile.id == file_id))) or 0

    # -- lookups ------------------------------------------------------------------------------

    @staticmethod
    def _check_id(session_id: str) -> None:
        if not is_valid_upload_id(session_id):
            raise InvalidUploadId(f"malformed upload_id {session_id!r}")

    async def live_session(self, s, owner_id: str, session_id: str, *, for_update: bool = False) -> UploadSession:
        """`owner_id`'s unexpired session, read in the caller's transaction `s` (locked with `for_update`);
        SessionNotFound otherwise. Public, like file_named, for modules built on the core (adoption)."""
        self._check_id(session_id)
        query = _LIVE_SESSION_FOR_UPDATE if for_update else _LIVE_SESSION
        session = (await s.execute(query, _session_params(owner_id, session_id))).scalar_one_or_none()
        if session is None:
            raise SessionNotFound(f"no upload session {session_id!r}")
        return session

    async def file_named(self, s, session_id: str, name: str) -> UploadFile | None:
        """The row of file `name` in session `session_id`, read in the caller's transaction `s`; None if absent.
        Public because modules built on the core (adoption) check names within their own transaction."""
        return (await s.execute(_FILE_NAMED, {"session_id": session_id, "name": name})).scalar_one_or_none()
