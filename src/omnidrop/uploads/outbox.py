"""Upload events that survive the process that caused them: a transactional outbox.

The core writes one row per interested sink (`webhook`, `tus_links`) in the same transaction as the
state change the event reports, so the event exists exactly when the change does. Workers deliver the
rows (`OutboxDelivery.deliver_due`) at least once: a row is claimed for a while on the database's
clock, deleted once its sink took it, and on failure retried later with exponential backoff. A worker
killed mid-delivery lets its claim lapse and another delivers the row again.

One upload's events reach a sink in the order they happened: only the oldest row of each
(sink, upload) is delivered, the next one after it is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidrop.db.clock import db_now
from omnidrop.db.engine import Database
from omnidrop.db.models import OutboxEvent
from omnidrop.uploads.events import UploadEvent

log = logging.getLogger(__name__)
Deliver = Callable[[UploadEvent], Awaitable[None]]
CLAIM = timedelta(seconds=60)  # a delivery (one HTTP POST with its timeout) ends well within this


@dataclass(frozen=True)
class Sink:
    """Where events go. `wants` picks the events recorded for it; `attempts` bounds the deliveries
    (then the event is logged and dropped); `backoff` is the first retry's delay, doubled each time."""

    name: str
    wants: Callable[[UploadEvent], bool]
    deliver: Deliver
    attempts: int = 4
    backoff: float = 1.0


class Outbox:
    """The writing side, used by the upload core inside its own transactions."""

    def __init__(self, sinks: list[Sink], on_recorded: Callable[[], Awaitable[None]] | None = None) -> None:
        self.sinks = sinks
        self._on_recorded = on_recorded

    async def record(self, s: AsyncSession, event: UploadEvent) -> bool:
        """Add `event` for every sink that wants it, in the caller's transaction; True if any does."""
        now = await db_now(s)
        wanted = [sink for sink in self.sinks if sink.wants(event)]
        for sink in wanted:
            s.add(OutboxEvent(sink=sink.name, upload_id=event.upload_id, payload=event.as_dict(), attempts=0,
                              due_at=now, created_at=now))
        return bool(wanted)

    async def recorded(self, event: UploadEvent) -> None:
        """After the commit of `event`: ask a worker to deliver now rather than at its next tick (best
        effort: the rows are committed either way)."""
        if self._on_recorded is not None and any(sink.wants(event) for sink in self.sinks):
            try:
                await self._on_recorded()
            except Exception:  # the rows are committed: the next tick delivers them anyway
                log.warning("could not wake a worker for the outbox", exc_info=True)


class OutboxDelivery:
    """The delivering side, run by workers."""

    def __init__(self, db: Database, sinks: list[Sink], worker: str) -> None:
        self.db = db
        self.sinks = {sink.name: sink for sink in sinks}
        self.worker = worker

    async def deliver_due(self, limit: int = 1000) -> int:
        """Deliver what is due now, oldest first; returns how many rows were delivered."""
        delivered = 0
        for _ in range(limit):
            claimed = await self._claim_next()
            if claimed is None:
                return delivered
            row_id, sink_name, payload, attempts = claimed
            sink = self.sinks[sink_name]
            try:
                await sink.deliver(UploadEvent.from_dict(payload))
            except Exception as exc:
                await self._failed(row_id, sink, attempts + 1, f"{type(exc).__name__}: {exc}")
                continue
            async with self.db.write() as s:
                await s.execute(delete(OutboxEvent).where(OutboxEvent.id == row_id))
            delivered += 1
        return delivered

    async def _claim_next(self) -> tuple[int, str, dict, int] | None:
        async with self.db.write() as s:
            now = await db_now(s)
            heads = select(func.min(OutboxEvent.id)).group_by(OutboxEvent.sink, OutboxEvent.upload_id)
            candidates = (await s.execute(
                select(OutboxEvent.id, OutboxEvent.sink, OutboxEvent.payload, OutboxEvent.attempts)
                # Only sinks this worker has: one configured without the hook leaves its events alone.
                .where(OutboxEvent.id.in_(heads), OutboxEvent.sink.in_(list(self.sinks)), OutboxEvent.due_at <= now,
                       (OutboxEvent.claim_until.is_(None)) | (OutboxEvent.claim_until < now))
                .order_by(OutboxEvent.id).limit(20)
            )).all()
            for row in candidates:
                taken = await s.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == row.id,
                           (OutboxEvent.claim_until.is_(None)) | (OutboxEvent.claim_until < now))
                    .values(claimed_by=self.worker, claim_until=now + CLAIM)
                )
                if taken.rowcount == 1:
                    return row.id, row.sink, row.payload, row.attempts
        return None

    async def _failed(self, row_id: int, sink: Sink, attempts: int, error: str) -> None:
        async with self.db.write() as s:
            if attempts >= sink.attempts:
                log.error("dropping upload event %d for %s after %d attempts: %s", row_id, sink.name, attempts, error)
                await s.execute(delete(OutboxEvent).where(OutboxEvent.id == row_id))
                return
            now = await db_now(s)
            delay = timedelta(seconds=sink.backoff * 2 ** (attempts - 1))
            await s.execute(update(OutboxEvent).where(OutboxEvent.id == row_id).values(
                attempts=attempts, due_at=now + delay, claimed_by=None, claim_until=None, last_error=error[:2000]))
