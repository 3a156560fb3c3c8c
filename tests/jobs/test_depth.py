"""The queue's depth as /metrics reports it: jobs queued and running per kind, from the jobs table."""

import uuid

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import update

from omnidrop.db.models import Job
from omnidrop.jobs.depth import jobs_waiting_and_running
from omnidrop.jobs.store import DONE, RUNNING, add_job
from omnidrop.telemetry.scrape import jobs_family


async def test_queued_and_running_jobs_are_counted_per_kind(db):
    kind, other = f"test.{uuid.uuid4().hex[:8]}", f"test.{uuid.uuid4().hex[:8]}"
    async with db.write() as s:
        ids = [await add_job(s, kind, f"subject-{i}", max_attempts=1) for i in range(3)]
        finished = await add_job(s, other, "y", max_attempts=1)
    async with db.write() as s:
        await s.execute(update(Job).where(Job.id == ids[0]).values(state=RUNNING))
        await s.execute(update(Job).where(Job.id == finished).values(state=DONE))
    counts = await jobs_waiting_and_running(db)
    assert (counts[(kind, "queued")], counts[(kind, "running")]) == (2, 1)
    assert not any(k == other for k, _ in counts)  # done jobs are history, not depth

    registry = CollectorRegistry()
    family = jobs_family(counts)
    registry.register(type("Fixed", (), {"collect": lambda self: [family]})())
    text = generate_latest(registry).decode()
    assert f'omnidrop_jobs{{kind="{kind}",state="queued"}} 2.0' in text
