"""The job runner with real handlers registered for the test, on both databases, and nothing of the app:
the mechanism runs whatever its composition registers."""

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass

import pytest

from omnidrop.jobs import registry, runner
from omnidrop.jobs.errors import JobFailed
from omnidrop.jobs.registry import Handler
from omnidrop.jobs.runner import run_job
from omnidrop.db.engine import Database
from omnidrop.jobs.store import DONE, FAILED, QUEUED, JobStore, add_job
from omnidrop.settings import Settings


@dataclass
class BareServices:
    """All the runner itself needs of an app's services."""

    settings: Settings
    db: Database

    async def close(self) -> None:
        await self.db.dispose()


@pytest.fixture(autouse=True)
def bare_composition(monkeypatch):
    monkeypatch.setattr(registry, "_services", [lambda s: BareServices(s, Database(s.resolved_database_url))])
    saved = dict(registry.HOUSEKEEPING)
    registry.HOUSEKEEPING.clear()
    yield
    registry.HOUSEKEEPING.clear()
    registry.HOUSEKEEPING.update(saved)


@pytest.fixture
def settings(db_url, tmp_path):
    return Settings(data_dir=tmp_path, database_url=db_url, job_max_attempts=2)


def handler(behaviour, seen):
    async def run(ctx):
        seen.append(("run", ctx.job.attempts))
        await ctx.progress(0.5)
        await behaviour(ctx)

    async def failed(ctx, code, message):
        seen.append(("failed", code, message))

    return Handler(run=run, failed=failed)


async def submit(db, kind: str) -> str:
    async with db.write() as s:
        return await add_job(s, kind, kind, max_attempts=2)


@pytest.fixture
def kind(request):
    name = f"test.{uuid.uuid4().hex[:12]}"
    yield name
    registry.HANDLERS.pop(name, None)


async def test_success_marks_done_with_full_progress(db, settings, kind):
    seen = []

    async def ok(ctx):
        return None

    registry.register(kind, handler(ok, seen))
    job_id = await submit(db, kind)
    await run_job(job_id, settings)
    job = await JobStore(db, 30).get(job_id)
    assert (job.state, job.progress, job.attempts) == (DONE, 1.0, 1)
    assert seen == [("run", 1)]
    await run_job(job_id, settings)  # a duplicate message does nothing
    assert seen == [("run", 1)]


async def test_permanent_failure_is_recorded_once_without_retry(db, settings, kind):
    seen = []

    async def bad_input(ctx):
        raise JobFailed("archive_unsafe_path", "entry ../x leaves the folder")

    registry.register(kind, handler(bad_input, seen))
    job_id = await submit(db, kind)
    await run_job(job_id, settings)
    job = await JobStore(db, 30).get(job_id)
    assert job.state == FAILED and job.error == "archive_unsafe_path: entry ../x leaves the folder"
    assert seen[-1] == ("failed", "archive_unsafe_path", "entry ../x leaves the folder")


async def test_crashes_are_retried_then_fail_after_max_attempts(db, settings, kind):
    seen = []

    async def crash(ctx):
        raise RuntimeError("disk on fire")

    registry.register(kind, handler(crash, seen))
    job_id = await submit(db, kind)
    await run_job(job_id, settings)
    job = await JobStore(db, 30).get(job_id)
    assert (job.state, job.attempts) == (QUEUED, 1)  # re-queued with a delay
    await run_job(job_id, settings)
    job = await JobStore(db, 30).get(job_id)
    assert (job.state, job.attempts) == (FAILED, 2)
    assert seen[-1] == ("failed", "processing_failed", "RuntimeError: disk on fire")


async def take_over(db, job_id: str) -> None:
    """What the sweep and another worker do to an attempt that paused past its lease."""
    from sqlalchemy import update

    from omnidrop.db.models import Job

    async with db.write() as s:
        await s.execute(update(Job).where(Job.id == job_id).values(lease_expires=_long_ago()))
    assert await JobStore(db, 30).claim(job_id, "the-other-worker") is not None


@pytest.mark.parametrize("ending", ["done", "job_failed", "crash", "last_crash"])
async def test_an_attempt_that_lost_its_lease_ends_nothing(db, settings, kind, monkeypatch, ending):
    """A paused attempt wakes after another took the job over: whatever it then does (finish, a
    permanent failure, a crash with or without attempts left), the job stays the new attempt's and the
    subject is not failed (its outputs are the new attempt's, not to be removed)."""
    seen, sent = [], []
    monkeypatch.setattr(runner, "dispatch", lambda jid, delay=0.0, q="default": _record(sent, jid, q))

    async def paused_then(ctx):
        await take_over(db, ctx.job.id)
        if ending == "job_failed":
            raise JobFailed("archive_unsafe_path", "its input went with the other attempt's cleanup")
        if ending in ("crash", "last_crash"):
            raise FileNotFoundError("removed by the other attempt")

    registry.register(kind, handler(paused_then, seen))
    async with db.write() as s:
        job_id = await add_job(s, kind, kind, max_attempts=1 if ending == "last_crash" else 2)
    takeovers = _sample("omnidrop_lease_takeovers_total", lease="job")
    await run_job(job_id, settings)
    job = await JobStore(db, 30).get(job_id)
    assert (job.state, job.lease_owner, job.attempts) == ("running", "the-other-worker", 2)
    assert [e for e in seen if e[0] == "failed"] == [] and sent == []
    # The attempt that lost its lease counts the takeover, and its own ending as lease_lost.
    assert _sample("omnidrop_lease_takeovers_total", lease="job") == takeovers + 1
    assert _sample("omnidrop_job_duration_seconds_count", kind=kind, outcome="lease_lost") == 1
    for other in ("done", "failed", "retried"):
        assert _sample("omnidrop_job_duration_seconds_count", kind=kind, outcome=other) == 0


def _sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_work_on_a_thread_reports_its_progress_onto_the_jobs_range(db, settings, kind, monkeypatch):
    monkeypatch.setattr(runner, "REPORT_EVERY", 0.05)
    seen = []
    go_on = threading.Event()

    def work(progress) -> str:
        progress(0.5)
        go_on.wait(30)
        return "rendered"

    async def on_thread(ctx):
        seen.append(await ctx.on_thread(work, start=0.5, end=0.9))

    registry.register(kind, handler(on_thread, seen))
    job_id = await submit(db, kind)
    running = asyncio.create_task(run_job(job_id, settings))
    deadline = time.monotonic() + 20
    try:
        # Half of the thread's work lands halfway between 0.5 and 0.9, while the thread still runs.
        while (await JobStore(db, 30).get(job_id)).progress != pytest.approx(0.7):
            assert time.monotonic() < deadline and not running.done()
            await asyncio.sleep(0.05)
    finally:
        go_on.set()
        await running
    assert seen == [("run", 1), "rendered"]
    assert (await JobStore(db, 30).get(job_id)).state == DONE


async def test_a_kind_nobody_registered_is_named_in_the_error(db, settings, kind):
    job_id = await submit(db, kind)
    with pytest.raises(registry.NotComposed, match=kind):
        await run_job(job_id, settings)


async def test_housekeeping_runs_every_registered_task_even_after_one_fails(settings):
    ran = []

    async def broken(services):
        raise RuntimeError("store unreachable")

    async def counters(services):
        ran.append(type(services).__name__)

    registry.add_housekeeping("broken", broken)
    registry.add_housekeeping("counters", counters)
    await runner.reap(settings)
    assert ran == ["BareServices"]


async def test_a_retried_job_goes_back_to_its_own_queue(db, settings, kind):
    """A job of a named queue that crashed is re-sent (with its delay) to that queue, not the default one."""
    from omnidrop.jobs.queue import pending_job_ids

    async def crash(ctx):
        raise RuntimeError("no GPU after all")

    registry.register(kind, handler(crash, []))
    queue = f"q{uuid.uuid4().hex[:8]}"
    async with db.write() as s:
        job_id = await add_job(s, kind, kind, max_attempts=2, queue=queue)
    await run_job(job_id, settings)
    job = await JobStore(db, 30).get(job_id)
    assert (job.state, job.queue) == (QUEUED, queue)
    assert job_id in pending_job_ids(queue) and job_id not in pending_job_ids("default")


async def test_the_sweep_resends_a_named_queues_job_only_when_its_message_is_gone(db, settings, kind, monkeypatch):
    """A job waiting on a queue nobody consumes yet (no GPU worker) is not piled up with copies of its
    message at every sweep; a message that really went (a flushed queue, a dead worker) is sent again."""
    from sqlalchemy import update

    from omnidrop.db.models import Job
    from omnidrop.jobs.dispatch import dispatch
    from omnidrop.jobs.queue import pending_job_ids, queue_for

    queue = f"q{uuid.uuid4().hex[:8]}"
    async with db.write() as s:
        job_id = await add_job(s, kind, kind, max_attempts=2, queue=queue)
    await dispatch(job_id, queue=queue)
    sent = []
    monkeypatch.setattr(runner, "dispatch", lambda jid, delay=0.0, q="default": _record(sent, jid, q))
    sweep_settings = settings

    async def stale() -> None:  # "nobody picked it up for a while", on the database's clock
        async with db.write() as s:
            await s.execute(update(Job).where(Job.id == job_id).values(updated_at=_long_ago()))

    await stale()
    await runner.sweep(sweep_settings)
    assert (job_id, queue) not in sent and job_id in pending_job_ids(queue)
    queue_for(queue)[0].flush()  # the message is lost
    await stale()
    await runner.sweep(sweep_settings)
    assert (job_id, queue) in sent


def _long_ago():
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)


async def _record(sent: list, job_id: str, queue: str) -> None:
    sent.append((job_id, queue))
