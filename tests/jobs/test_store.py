import asyncio
from datetime import timedelta

from sqlalchemy import update

from omnidrop.db.models import Job
from omnidrop.db.types import utcnow
from omnidrop.jobs.store import FAILED, QUEUED, RUNNING, JobStore, add_job


async def new_job(db, kind="test.kind") -> str:
    async with db.write() as s:
        return await add_job(s, kind, utcnow().isoformat() + kind, max_attempts=3)


async def test_one_claim_wins_and_counts_an_attempt(db):
    store = JobStore(db, lease_seconds=30)
    job_id = await new_job(db)
    claims = await asyncio.gather(*(store.claim(job_id, f"w{i}") for i in range(20)))
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1 and winners[0].attempts == 1
    assert (await store.get(job_id)).state == RUNNING


async def test_lapsed_lease_is_found_and_can_be_claimed_again(db):
    store = JobStore(db, lease_seconds=30)
    job_id = await new_job(db)
    assert await store.claim(job_id, "dead-worker")
    assert job_id not in await store.lapsed(timedelta(seconds=60))
    async with db.write() as s:
        await s.execute(update(Job).where(Job.id == job_id).values(lease_expires=utcnow() - timedelta(seconds=1)))
    assert job_id in await store.lapsed(timedelta(seconds=60))
    again = await store.claim(job_id, "new-worker")
    assert again is not None and again.attempts == 2
    assert not await store.heartbeat(job_id, "dead-worker")  # the old worker finds out it lost the job
    assert await store.heartbeat(job_id, "new-worker", progress=0.5)


async def test_queued_jobs_nobody_picked_up_are_re_sent_once_per_grace_period(db):
    store = JobStore(db, lease_seconds=30)
    job_id = await new_job(db)
    async with db.write() as s:
        await s.execute(update(Job).where(Job.id == job_id).values(updated_at=utcnow() - timedelta(minutes=5)))
    assert job_id in await store.lapsed(timedelta(seconds=60))
    assert job_id not in await store.lapsed(timedelta(seconds=60))  # touched: not re-sent again at once


async def test_finish_retry_and_fail_only_by_the_lease_holder(db):
    store = JobStore(db, lease_seconds=30)
    job_id = await new_job(db)
    await store.claim(job_id, "w1")
    await store.fail(job_id, "intruder", "nope")
    assert (await store.get(job_id)).state == RUNNING
    await store.retry(job_id, "w1", "flaky")
    job = await store.get(job_id)
    assert (job.state, job.error) == (QUEUED, "flaky")
    await store.claim(job_id, "w2")
    await store.fail(job_id, "w2", "broken")
    job = await store.get(job_id)
    assert (job.state, job.error) == (FAILED, "broken")
    assert await store.claim(job_id, "w3") is None
