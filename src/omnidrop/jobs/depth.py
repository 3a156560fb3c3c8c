"""How many jobs wait and run, per kind: the queue's depth, read from the jobs table (the truth; Huey's
messages can be lost and re-sent by the sweep)."""

from __future__ import annotations

from sqlalchemy import func, select

from omnidrop.db.engine import Database
from omnidrop.db.models import Job
from omnidrop.jobs.store import QUEUED, RUNNING


async def jobs_waiting_and_running(db: Database) -> dict[tuple[str, str], int]:
    """{(kind, state): count} for the states queued and running."""
    async with db.read() as s:
        rows = await s.execute(
            select(Job.kind, Job.state, func.count()).where(Job.state.in_((QUEUED, RUNNING)))
            .group_by(Job.kind, Job.state)
        )
        return {(kind, state): count for kind, state, count in rows}
