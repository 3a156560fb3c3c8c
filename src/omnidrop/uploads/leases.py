"""One writer per file across every API process: a lease row claimed with a conditional UPDATE.

Same SQL on SQLite and PostgreSQL, no long transactions and no advisory locks. A writer renews its
lease while bytes flow and writes only under a lease renewed moments ago; a lease not renewed within
its TTL is stale and the next request takes it over.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import and_, or_, update

from omnidrop.db.engine import Database
from omnidrop.db.models import UploadFile
from omnidrop.db.types import utcnow
from omnidrop.uploads.ids import new_id


class LeaseLost(Exception):
    """Someone else took the lease over: stop writing at once."""


class Lease:
    def __init__(self, db: Database, file_id: int, ttl: float, renew_every: float) -> None:
        self.db = db
        self.file_id = file_id
        self.ttl = ttl
        self.renew_every = renew_every
        self.token = new_id(24)
        self._renewed_at = 0.0

    async def _claim_once(self) -> bool:
        now = utcnow()
        async with self.db.write() as s:
            result = await s.execute(
                update(UploadFile)
                .where(
                    UploadFile.id == self.file_id,
                    or_(UploadFile.lease_owner.is_(None), UploadFile.lease_expires < now),
                )
                .values(lease_owner=self.token, lease_expires=now + timedelta(seconds=self.ttl))
            )
        if result.rowcount == 1:
            self._renewed_at = time.monotonic()
            return True
        return False

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

    async def keep(self) -> None:
        """Call before each write: renews when due, raises LeaseLost if it was taken over."""
        if time.monotonic() - self._renewed_at < self.renew_every:
            return
        now = utcnow()
        async with self.db.write() as s:
            result = await s.execute(
                update(UploadFile)
                .where(UploadFile.id == self.file_id, UploadFile.lease_owner == self.token)
                .values(lease_expires=now + timedelta(seconds=self.ttl))
            )
        if result.rowcount != 1:
            raise LeaseLost()
        self._renewed_at = time.monotonic()

    async def release(self) -> None:
        async with self.db.write() as s:
            await s.execute(
                update(UploadFile)
                .where(and_(UploadFile.id == self.file_id, UploadFile.lease_owner == self.token))
                .values(lease_owner=None, lease_expires=None)
            )
