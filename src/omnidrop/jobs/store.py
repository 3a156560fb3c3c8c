"""The jobs table: submit, claim under a lease, heartbeat, finish, retry, and find lapsed jobs.

Each state change is one short transaction with a conditional UPDATE, so two workers that receive
the same message cannot both run the job, and a worker that died simply lets its lease lapse.
Leases and their expiry are measured on the database's clock (db_now), never a worker's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidrop.db.clock import db_now
from omnidrop.db.engine import Database
from omnidrop.db.models import Job
from omnidrop.uploads.ids import new_id

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
DEFAULT_QUEUE = "default"  # every worker consumes it; other queues only the workers started for them


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    kind: str
    subject_id: str
    attempts: int
    max_attempts: int
    queue: str = DEFAULT_QUEUE


async def add_job(s: AsyncSession, kind: str, subject_id: str, max_attempts: int, queue: str = DEFAULT_QUEUE) -> str:
    """Insert a queued job inside the caller's transaction (so it commits with its subject). `queue`: which
    workers may run it (send its message to the same queue)."""
    now = await db_now(s)  # the sweep compares updated_at with the database's clock
    job = Job(id=new_id(16), kind=kind, subject_id=subject_id, state=QUEUED, attempts=0, max_attempts=max_attempts,
              progress=0.0, created_at=now, updated_at=now, queue=queue)
    s.add(job)
    return job.id


class JobStore:
    def __init__(self, db: Database, lease_seconds: float) -> None:
        self.db = db
        self.lease = timedelta(seconds=lease_seconds)

    async def claim(self, job_id: str, worker: str) -> ClaimedJob | None:
        async with self.db.write() as s:
            now = await db_now(s)
            result = await s.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    or_(Job.state == QUEUED, (Job.state == RUNNING) & (Job.lease_expires < now)),
                )
                .values(state=RUNNING, lease_owner=worker, lease_expires=now + self.lease,
                        attempts=Job.attempts + 1, updated_at=now)
                .returning(Job.id, Job.kind, Job.subject_id, Job.attempts, Job.max_attempts, Job.queue)
            )
            row = result.first()
        return ClaimedJob(*row) if row else None

    async def heartbeat(self, job_id: str, worker: str, progress: float | None = None) -> bool:
        async with self.db.write() as s:
            now = await db_now(s)
            values: dict = {"lease_expires": now + self.lease, "updated_at": now}
            if progress is not None:
                values["progress"] = progress
            result = await s.execute(
                update(Job).where(Job.id == job_id, Job.lease_owner == worker, Job.state == RUNNING).values(**values)
            )
        return result.rowcount == 1

    # finish, fail and retry change the job only while `worker` still holds it, and say whether it did:
    # an attempt that lost its lease (paused past it, taken over) must not end the new attempt's job.

    async def finish(self, job_id: str, worker: str) -> bool:
        return await self._end(job_id, worker, DONE, None, progress=1.0)

    async def fail(self, job_id: str, worker: str, error: str) -> bool:
        return await self._end(job_id, worker, FAILED, error)

    async def retry(self, job_id: str, worker: str, error: str) -> bool:
        async with self.db.write() as s:
            now = await db_now(s)
            result = await s.execute(
                update(Job).where(Job.id == job_id, Job.lease_owner == worker, Job.state == RUNNING)
                .values(state=QUEUED, lease_owner=None, lease_expires=None, error=error, updated_at=now)
            )
        return result.rowcount == 1

    async def _end(self, job_id: str, worker: str, state: str, error: str | None, progress: float | None = None) -> bool:
        async with self.db.write() as s:
            now = await db_now(s)
            values: dict = {"state": state, "lease_owner": None, "lease_expires": None, "error": error,
                            "updated_at": now, "finished_at": now}
            if progress is not None:
                values["progress"] = progress
            result = await s.execute(
                update(Job).where(Job.id == job_id, Job.lease_owner == worker, Job.state == RUNNING).values(**values)
            )
        return result.rowcount == 1

    async def lapsed(self, stale_queued_after: timedelta) -> list[str]:
        """Running jobs whose lease ran out, and queued jobs nobody picked up for a while (lost message)."""
        async with self.db.read() as s:
            now = await db_now(s)
            rows = await s.scalars(
                select(Job.id).where(
                    ((Job.state == RUNNING) & (Job.lease_expires < now))
                    | ((Job.state == QUEUED) & (Job.updated_at < now - stale_queued_after))
                )
            )
            ids = list(rows)
        if ids:
            async with self.db.write() as s:  # touch, so the next sweep waits again before re-sending
                await s.execute(update(Job).where(Job.id.in_(ids), Job.state == QUEUED).values(updated_at=now))
        return ids

    async def queues(self, job_ids: list[str]) -> dict[str, str]:
        """{job id: its queue}."""
        if not job_ids:
            return {}
        async with self.db.read() as s:
            rows = await s.execute(select(Job.id, Job.queue).where(Job.id.in_(job_ids)))
            return dict(rows.all())

    async def get(self, job_id: str) -> Job | None:
        async with self.db.read() as s:
            return await s.get(Job, job_id)
