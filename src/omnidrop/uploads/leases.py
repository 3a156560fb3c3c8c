"""One writer per file across every API process: a lease row claimed with a conditional UPDATE.

Same SQL on SQLite and PostgreSQL, no long transactions and no advisory locks. A writer renews its
lease while bytes flow and writes only under a lease renewed moments ago; a lease not renewed within
its TTL is stale and the next request takes it over.

Every claim bumps the file's `lease_epoch`. Renewal stops a writer that notices the takeover, but a
writer frozen between its check and its write (a GC pause, SIGSTOP) notices nothing: it is fenced by
what it writes instead. Everything it would commit is guarded by its token, and whatever the store
draws under the lease (uploads/fence.py) is unique to its epoch, so its late bytes land where nothing
reads. Expiry times are the database's clock (db/clock.py), never the process's.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from omnidrop.db.clock import db_time, seconds
from omnidrop.db.engine import Database
from omnidrop.db.models import UploadFile
from omnidrop.uploads.ids import new_id


# Built once (a chunk runs them all), as Core UPDATEs: see core.py.
_files = UploadFile.__table__.c
# The claimed row comes back as an UploadFile (fresh, whatever the session held) from the UPDATE's
# own RETURNING: no second query.
_CLAIM = (
    select(UploadFile)
    .from_statement(
        update(UploadFile.__table__)
        .where(
            _files.id == bindparam("file_id"),
            # lease_expires = last renewal + ttl, so "not renewed for stale_after" is "expires before
            # now + ttl - stale_after" (`free_after` = max(0, ttl - stale_after)).
            or_(_files.lease_owner.is_(None), _files.lease_expires < db_time(seconds("free_after"))),
        )
        .values(lease_owner=bindparam("token"), lease_expires=db_time(seconds("ttl")),
                lease_epoch=_files.lease_epoch + 1,
                # Taken over rather than given back: the old holder may be frozen mid-write.
                fence_epoch=case((_files.lease_owner.is_(None), _files.fence_epoch), else_=_files.lease_epoch + 1))
        .returning(*UploadFile.__table__.c)
    )
    .execution_options(populate_existing=True)
)
_HELD = (_files.id == bindparam("file_id")) & (_files.lease_owner == bindparam("token"))
_RENEW = update(UploadFile.__table__).where(_HELD).values(lease_expires=db_time(seconds("ttl")))
_RELEASE = update(UploadFile.__table__).where(_HELD).values(lease_owner=None, lease_expires=None)


class LeaseLost(Exception):
    """Someone else took the lease over: stop writing at once."""


class Lease:
    def __init__(self, db: Database, file_id: int | None, ttl: float, renew_every: float,
                 stale_after: float | None = None) -> None:
        """`stale_after`: also take over a lease not renewed for this long (it must exceed `renew_every`,
        so the holder, which renews before every write once `renew_every` has passed, stops first)."""
        self.db = db
        self.file_id = file_id
        self.ttl = ttl
        self.renew_every = renew_every
        self.stale_after = stale_after if stale_after is not None and stale_after > renew_every else None
        self.token = new_id(24)
        self._renewed_at = 0.0
        # The file row as the claim left it: read in the claiming UPDATE, so no second query.
        self.claimed: UploadFile | None = None
        # The epoch this claim made (the row's lease_epoch after it): what fences this writer.
        self.epoch = 0
        # Set when a commit gave the lease back in its own UPDATE: release() then has nothing to do.
        self.released = False

    def claim_in(self, s: Session) -> bool:
        """Try to take the lease inside the caller's write transaction (synchronous ORM session), so a
        request can find its file and claim it in one transaction. The lease is held once that commits."""
        free_after = 0.0 if self.stale_after is None else max(0.0, self.ttl - self.stale_after)
        self.claimed = s.execute(_CLAIM, {
            "file_id": self.file_id, "free_after": free_after, "token": self.token, "ttl": self.ttl,
        }).scalar_one_or_none()
        if self.claimed is not None:
            self.epoch = self.claimed.lease_epoch
            self._renewed_at = time.monotonic()
            return True
        return False

    async def _claim_once(self) -> bool:
        return await self.db.run_write(self.claim_in)

    async def claim(self, wait: float) -> bool:
        """Take the lease, waiting up to `wait` seconds for the current holder to finish."""
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            if await self._claim_once():
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)

    @property
    def due(self) -> bool:
        """Whether the next write must renew first (a plain check: it runs for every piece of a body)."""
        return time.monotonic() - self._renewed_at >= self.renew_every

    async def keep(self) -> None:
        """Call before each write: renews when due, raises LeaseLost if it was taken over."""
        if not self.due:
            return
        params = {"file_id": self.file_id, "token": self.token, "ttl": self.ttl}
        rowcount = await self.db.run_write(lambda s: s.execute(_RENEW, params).rowcount)
        if rowcount != 1:
            raise LeaseLost()
        self._renewed_at = time.monotonic()

    async def release(self) -> None:
        if self.released:
            return
        params = {"file_id": self.file_id, "token": self.token}
        await self.db.run_write(lambda s: s.execute(_RELEASE, params))
