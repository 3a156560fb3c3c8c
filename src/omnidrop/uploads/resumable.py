"""Resumable uploads as tus and the IETF draft see them: one file addressed by an opaque id.

Each upload is an upload session holding a single file, so the core's leases, durability rule,
expiry and reaper apply unchanged. This layer adds what those protocols need on top: metadata,
deferred length, exact-offset appends, per-chunk checksums, concatenation of partial uploads, and
the created/finished/terminated events. It knows nothing of HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update

from omnidrop.db.clock import db_time, seconds
from omnidrop.db.models import ResumableUpload, UploadFile, UploadSession
from omnidrop.storage.base import BlobMismatch
from omnidrop.uploads.core import MOVE_EXPIRY, OPEN, ChunkCheck, UploadCore
from omnidrop.uploads.errors import FileTooLarge, UploadError
from omnidrop.uploads.events import CREATED, FINISHED, PRE_CREATE, TERMINATED, EventBus, UploadEvent
from omnidrop.uploads.ids import is_valid_upload_id, new_id
from omnidrop.uploads.outbox import Outbox

log = logging.getLogger(__name__)

ACTIVE = "active"
FINISHED_STATE = "finished"
TERMINATED_STATE = "terminated"
EXPIRED_STATE = "expired"
CONSUMED = "consumed"  # the session state once another resource owns the bytes: never reaped
FILE_NAME = "upload"
PARTIAL = "partial"
FINAL = "final"

# Built once: every PATCH runs them (see core.py).
_THE_UPLOAD = select(ResumableUpload).where(ResumableUpload.id == bindparam("upload_id"))
# With whether it has expired by the database's clock (never this process's).
# With whether it has expired, whether a write should move its expiry (the core's MOVE_EXPIRY rule),
# and the database's now (for the lifetime left), all by the database's clock (never this process's).
_THE_SESSION = select(
    UploadSession,
    (UploadSession.expires_at <= db_time(0)).label("expired"),
    (UploadSession.expires_at < db_time(seconds("due_before"))).label("due"),
    db_time(0).label("now"),
).where(UploadSession.id == bindparam("upload_id"))
_THE_FILE = select(UploadFile).where(UploadFile.session_id == bindparam("upload_id"))
_KEEP_ALIVE = MOVE_EXPIRY.returning(UploadSession.__table__.c.expires_at)


class UploadNotFound(UploadError):
    code = "upload_not_found"


class UploadGone(UploadError):
    """The upload existed but expired or was terminated."""

    code = "upload_gone"


class FinalUploadImmutable(UploadError):
    code = "final_upload_immutable"


class InvalidConcatenation(UploadError):
    code = "invalid_concatenation"


class ConcatenationMismatch(UploadError):
    """The object composed from the partial uploads is not as long as they are in the database (a
    partial's stored bytes were lost or changed): the final upload stays incomplete."""

    code = "concatenation_mismatch"


@dataclass(frozen=True)
class ResumableInfo:
    id: str
    owner_id: str
    offset: int
    length: int | None
    complete: bool
    meta: dict[str, str | None] = field(default_factory=dict)
    concat: str = ""
    parts: tuple[str, ...] = ()
    expires_at: datetime | None = None
    blob_key: str = ""
    file_id: int = 0
    consumed: bool = False
    # Whether a write should push the expiry out now (the database's clock decided, when it was read).
    expiry_due: bool = False
    # Seconds of life left when it was read, by the database's clock; None: it never expires.
    lifetime: int | None = None


class ResumableUploads:
    def __init__(self, core: UploadCore, events: EventBus, tombstone_days: float = 7.0,
                 outbox: Outbox | None = None) -> None:
        self.core = core
        self.db = core.db
        self.events = events
        # Events for other processes (hooks, tus_links): written in the transaction of the change.
        self.outbox = outbox
        self.tombstone_retention = timedelta(days=tombstone_days)

    # -- creation ---------------------------------------------------------------------------------

    async def create(
        self, owner_id: str, *, length: int | None, meta: dict[str, str | None] | None = None,
        protocol: str = "tus", concat: str = "",
    ) -> ResumableInfo:
        """A new, empty upload (`length` None defers it). Pre-create checks may refuse it."""
        meta = meta or {}
        if length is not None and length > self.core.limits.max_file_bytes:
            raise FileTooLarge(self.core.limits.max_file_bytes)
        upload_id = new_id(24)
        await self.events.check(UploadEvent(PRE_CREATE, upload_id, owner_id, protocol, length, 0, meta, concat))
        created = UploadEvent(CREATED, upload_id, owner_id, protocol, length, 0, meta, concat)
        await self._insert(upload_id, owner_id, length=length, meta=meta, concat=concat, event=created)
        await self._recorded(created)
        info = await self.get(owner_id, upload_id)
        self._emit(CREATED, info, protocol)
        if length == 0:  # an empty upload is complete the moment it exists
            return await self.append(owner_id, upload_id, offset=0, body=_empty(), protocol=protocol)
        return info

    async def _insert(self, upload_id: str, owner_id: str, *, length: int | None, meta: dict, concat: str,
                      parts: list[str] | None = None, event: UploadEvent | None = None) -> UploadFile:
        now = db_time(0)  # the database's clock, as every expiry and ordering is judged by
        async with self.db.write() as s:
            if self.core.quotas:
                await self.core.quotas.check(s, owner_id, length or 0)
            s.add(UploadSession(id=upload_id, owner_id=owner_id, state=OPEN, created_at=now,
                                expires_at=db_time(self.core.limits.ttl_seconds)))
            s.add(ResumableUpload(id=upload_id, owner_id=owner_id, state=ACTIVE, meta=meta, concat=concat,
                                  parts=" ".join(parts or []), size=length, created_at=now))
            await s.flush()
            f = UploadFile(session_id=upload_id, name=FILE_NAME, blob_key=f"uploads/{upload_id}/{new_id(16)}",
                           total=length, received=0, complete=False, created_at=now, updated_at=now)
            s.add(f)
            if event is not None:
                await self._record(s, event)
        return f

    async def concatenate(self, owner_id: str, part_ids: list[str], *, meta: dict | None = None,
                          protocol: str = "tus") -> ResumableInfo:
        """A final upload made of finished partial uploads, in order. Partials stay reusable."""
        if not part_ids:
            raise InvalidConcatenation("a final upload needs at least one partial upload")
        parts: list[ResumableInfo] = []
        for part_id in part_ids:
            try:
                part = await self.get(owner_id, part_id)
            except (UploadNotFound, UploadGone):
                # Another owner's upload is as unknown as a missing one.
                raise InvalidConcatenation(f"no partial upload {part_id!r}") from None
            if part.concat != PARTIAL:
                raise InvalidConcatenation(f"upload {part_id!r} is not a partial upload")
            if not part.complete:
                raise InvalidConcatenation(f"partial upload {part_id!r} is not finished")
            parts.append(part)
        length = sum(p.length or 0 for p in parts)
        if length > self.core.limits.max_file_bytes:
            raise FileTooLarge(self.core.limits.max_file_bytes)
        upload_id = new_id(24)
        meta = meta or {}
        await self.events.check(UploadEvent(PRE_CREATE, upload_id, owner_id, protocol, length, 0, meta, FINAL))
        f = await self._insert(upload_id, owner_id, length=length, meta=meta, concat=FINAL, parts=part_ids,
                               event=UploadEvent(CREATED, upload_id, owner_id, protocol, length, 0, meta, FINAL))
        # `complete` only for an object exactly as long as its parts are in the database (which is the
        # final's length): what the store composed and what it now holds are both checked.
        try:
            composed = await self.core.store.compose([p.blob_key for p in parts], f.blob_key)
        except BlobMismatch as exc:
            raise ConcatenationMismatch(f"the final upload could not be composed: {exc}", expected=length) from None
        stored = await self.core.store.size(f.blob_key)
        if composed != length or stored != length:
            raise ConcatenationMismatch(
                f"the partial uploads add up to {length} bytes in the database but the composed object has "
                f"{stored} bytes; the final upload {upload_id!r} is left incomplete", expected=length, got=stored)
        now = db_time(0)
        async with self.db.write() as s:
            await s.execute(update(UploadFile).where(UploadFile.id == f.id)
                            .values(received=length, complete=True, completed_at=now, updated_at=now))
            await s.execute(update(ResumableUpload).where(ResumableUpload.id == upload_id)
                            .values(state=FINISHED_STATE))
            finished = UploadEvent(FINISHED, upload_id, owner_id, protocol, length, length, meta, FINAL)
            await self._record(s, finished)
        await self._recorded(finished)
        info = await self.get(owner_id, upload_id)
        self._emit(CREATED, info, protocol)
        self._emit(FINISHED, info, protocol)
        return info

    # -- reads ------------------------------------------------------------------------------------

    async def get(self, owner_id: str, upload_id: str, *, protocol: str = "tus") -> ResumableInfo:
        """The upload as the owner sees it; another owner's upload is not found. An upload held whole
        but never marked complete (its writer died between the two commits) is completed here, once
        its lease is free by the rule a PATCH takes a writer over by: HEAD heals it (`protocol` names
        the finished event then)."""
        info, whole = await self._read(owner_id, upload_id)
        if whole and await self._heal(info, protocol):
            info, _ = await self._read(owner_id, upload_id)
        return info

    async def _read(self, owner_id: str, upload_id: str) -> tuple[ResumableInfo, bool]:
        """The upload, and whether it is held whole but not marked complete."""
        if not is_valid_upload_id(upload_id):
            raise UploadNotFound(f"no upload {upload_id!r}")
        # Every PATCH and HEAD reads it: one short transaction (Database.run_read).
        params = {"upload_id": upload_id, "due_before": self.core.expiry_params(upload_id)["due_before"]}
        row, (session, expired, due, now), f = await self.db.run_read(lambda s: (
            s.execute(_THE_UPLOAD, params).scalar_one_or_none(),
            s.execute(_THE_SESSION, params).first() or (None, None, None, None),
            s.execute(_THE_FILE, params).scalar_one_or_none()))
        if row is None or row.owner_id != owner_id:
            raise UploadNotFound(f"no upload {upload_id!r}")
        if row.state in (TERMINATED_STATE, EXPIRED_STATE):
            raise UploadGone(f"upload {upload_id!r} was {row.state}")
        if session is None or f is None or session.state not in (OPEN, CONSUMED):
            raise UploadGone(f"upload {upload_id!r} expired")
        if session.state == OPEN and expired:
            raise UploadGone(f"upload {upload_id!r} expired")
        whole = not f.complete and f.total is not None and f.received == f.total and row.state == ACTIVE
        return ResumableInfo(
            id=row.id, owner_id=row.owner_id, offset=f.received, length=f.total, complete=f.complete,
            meta=dict(row.meta or {}), concat=row.concat, parts=tuple(row.parts.split()),
            expires_at=session.expires_at if session.state == OPEN else None, blob_key=f.blob_key, file_id=f.id,
            consumed=session.state == CONSUMED, expiry_due=session.state == OPEN and bool(due),
            lifetime=(max(0, int((session.expires_at - now).total_seconds()))
                      if session.state == OPEN and session.expires_at is not None else None),
        ), whole

    # -- writes -----------------------------------------------------------------------------------

    async def append(
        self, owner_id: str, upload_id: str, *, offset: int, body: AsyncIterable[bytes],
        length: int | None = None, total: int | None = None, check: ChunkCheck | None = None,
        protocol: str = "tus", current: ResumableInfo | None = None,
    ) -> ResumableInfo:
        """Bytes at exactly `offset`; `total` declares a deferred length. Returns the new state.
        `current`: the upload as the caller has just read it with get() (spares reading it again)."""
        if current is not None and (current.id, current.owner_id) == (upload_id, owner_id):
            info = current
        else:
            info = await self.get(owner_id, upload_id)
        if info.concat == FINAL:
            raise FinalUploadImmutable("a final upload cannot be modified")
        expires_at = await self._keep_alive(upload_id, info)
        finished: list[UploadEvent] = []
        progress = await self.core.append(info.file_id, start=offset, body=body, length=length, total=total,
                                          check=check, on_complete=self._on_finished(info, protocol, finished))
        # The rest of the upload cannot have changed under a write that held the file's lease.
        lifetime = info.lifetime
        if lifetime is not None and expires_at is not None and info.expires_at is not None:
            lifetime += int((expires_at - info.expires_at).total_seconds())  # what the move added
        info = replace(info, offset=progress.received, length=progress.total, complete=progress.complete,
                       expires_at=expires_at, expiry_due=False, lifetime=lifetime)
        if progress.completed_now:
            await self._recorded(finished[-1])
            self._emit(FINISHED, info, protocol)
        return info

    def _on_finished(self, info: ResumableInfo, protocol: str, finished: list[UploadEvent]):
        """What the core runs in its completion transaction: the upload's state and its finished event
        commit with `complete` itself, so a crash right after that commit cannot lose the event."""
        async def record_finished(s, size: int) -> None:
            await s.execute(update(ResumableUpload).where(ResumableUpload.id == info.id)
                            .values(state=FINISHED_STATE, size=size))
            event = self._event(FINISHED, replace(info, offset=size, length=size, complete=True), protocol)
            await self._record(s, event)
            finished.append(event)

        return record_finished

    async def _heal(self, info: ResumableInfo, protocol: str, *, stale_after: float | None = -1.0) -> bool:
        """Complete an upload held whole whose writer died before marking it complete (core.finish_whole),
        with its finished event, exactly as that writer's PATCH would have. `stale_after` -1: the
        PATCH takeover rule (a lease not renewed for 3 renewal periods); None: only a lapsed lease."""
        if stale_after is not None and stale_after < 0:
            stale_after = 3 * self.core.limits.lease_renew
        finished: list[UploadEvent] = []
        done = await self.core.finish_whole(info.file_id, self._on_finished(info, protocol, finished),
                                            stale_after=stale_after)
        if done:
            await self._recorded(finished[-1])
            self._emit(FINISHED, replace(info, offset=info.length or 0, complete=True), protocol)
        return done

    async def finish_stranded(self) -> int:
        """Housekeeping, for every protocol: files held whole but never marked complete whose lease has
        lapsed are completed (a resumable upload with its finished event; a chunked upload's file as
        its last chunk would have). Returns how many."""
        done = 0
        for file_id, session_id in await self.core.stranded():
            try:
                row = await self.db.run_read(lambda s: s.get(ResumableUpload, session_id))
                if row is None:  # a chunked upload session's file
                    done += await self.core.finish_whole(file_id)
                    continue
                if row.state != ACTIVE:
                    continue
                info, whole = await self._read(row.owner_id, row.id)
                # The protocol is not stored: the event says tus (the IETF draft's own uploads heal on HEAD).
                if whole and await self._heal(info, "tus", stale_after=None):
                    done += 1
            except UploadError:
                continue  # gone or expired meanwhile
            except Exception:  # one file whose blob cannot be finalized now must not keep the rest
                log.exception("could not complete stranded file %s; the next round tries again", file_id)
        return done

    async def _keep_alive(self, upload_id: str, info: ResumableInfo) -> datetime | None:
        """The expiry after this write, moved by the core's rule in the database's time (MOVE_EXPIRY).
        None: the bytes belong to another resource and never expire. Whether to ask was decided by
        the database's clock when the upload was read (`expiry_due`), sparing a write on most PATCHes."""
        if info.expires_at is None or not info.expiry_due:
            return info.expires_at
        params = self.core.expiry_params(upload_id)
        moved = await self.db.run_write(lambda s: s.execute(_KEEP_ALIVE, params).scalar_one_or_none())
        return moved if moved is not None else info.expires_at

    async def terminate(self, owner_id: str, upload_id: str, *, protocol: str = "tus") -> None:
        info = await self.get(owner_id, upload_id)
        if info.consumed:
            raise UploadNotFound("the upload belongs to another resource now and cannot be terminated")
        terminated = self._event(TERMINATED, info, protocol)
        async with self.db.write() as s:
            await s.execute(update(ResumableUpload).where(ResumableUpload.id == upload_id)
                            .values(state=TERMINATED_STATE, ended_at=db_time(0)))
            await self._record(s, terminated)
        await self._recorded(terminated)
        # Bytes after the tombstone: if we die in between, the session's expiry brings the reaper.
        await self.core.delete_session(owner_id, upload_id)
        self._emit(TERMINATED, info, protocol)

    async def consume(self, owner_id: str, upload_id: str) -> ResumableInfo:
        """Hand a finished upload's bytes to another resource: it stops expiring and cannot be deleted."""
        info = await self.get(owner_id, upload_id)
        async with self.db.write() as s:
            await s.execute(update(UploadSession).where(UploadSession.id == upload_id, UploadSession.state == OPEN)
                            .values(state=CONSUMED, expires_at=None))
        return info

    # -- housekeeping -----------------------------------------------------------------------------

    async def reap(self) -> int:
        """After the core's reaper: mark uploads whose session is gone as expired, drop old tombstones."""
        now = db_time(0)  # tombstones age by the database's clock, whichever node reaps
        async with self.db.write() as s:
            live = select(UploadSession.id)
            result = await s.execute(
                update(ResumableUpload)
                .where(ResumableUpload.state.in_([ACTIVE, FINISHED_STATE]), ResumableUpload.id.not_in(live))
                .values(state=EXPIRED_STATE, ended_at=now)
            )
            await s.execute(delete(ResumableUpload).where(
                ResumableUpload.state.in_([TERMINATED_STATE, EXPIRED_STATE]),
                ResumableUpload.ended_at < db_time(-self.tombstone_retention.total_seconds()),
            ))
        return result.rowcount

    @staticmethod
    def _event(kind: str, info: ResumableInfo, protocol: str) -> UploadEvent:
        return UploadEvent(kind, info.id, info.owner_id, protocol, info.length, info.offset, info.meta, info.concat)

    def _emit(self, kind: str, info: ResumableInfo, protocol: str) -> None:
        """In-process listeners (after the fact, lost with this process; the outbox is the durable way)."""
        self.events.publish(self._event(kind, info, protocol))

    async def _record(self, s, event: UploadEvent) -> None:
        if self.outbox is not None:
            await self.outbox.record(s, event)

    async def _recorded(self, event: UploadEvent) -> None:
        if self.outbox is not None:
            await self.outbox.recorded(event)


async def _empty():
    return
    yield b""  # an async generator that yields nothing
