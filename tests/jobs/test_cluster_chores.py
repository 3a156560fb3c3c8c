"""What lets any worker keep the cluster's promises: job leases on the database's clock, round leases
for the schedule, and scratch folders a dead worker leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta

from sqlalchemy import update

from omnidrop.db.clock import db_now
from omnidrop.db.models import ClusterRound
from omnidrop.db.types import utcnow
from omnidrop.jobs import scratch
from omnidrop.jobs.housekeeping import Housekeeper
from omnidrop.jobs.rounds import Rounds
from omnidrop.jobs.store import JobStore, add_job
from omnidrop.settings import Settings


def skew_process_clocks(monkeypatch, by: timedelta) -> None:
    """This process's clock runs `by` ahead, as a worker whose NTP failed."""
    ahead = lambda: datetime.now(tz=utcnow().tzinfo) + by  # noqa: E731
    monkeypatch.setattr("omnidrop.db.types.utcnow", ahead)
    monkeypatch.setattr("omnidrop.jobs.store.utcnow", ahead, raising=False)


async def test_the_database_clock_is_utc_and_close_to_ours(db):
    async with db.read() as s:
        now = await db_now(s)
    assert now.utcoffset() == timedelta(0)
    assert abs(now - utcnow()) < timedelta(minutes=5)  # the same host: the clocks agree


async def test_a_worker_whose_clock_runs_ahead_cannot_steal_a_live_lease(db, monkeypatch):
    store = JobStore(db, lease_seconds=60)
    async with db.write() as s:
        job_id = await add_job(s, "test.skew", f"subject-{os.urandom(4).hex()}", max_attempts=3)
    assert await store.claim(job_id, "worker-a")
    skew_process_clocks(monkeypatch, timedelta(hours=2))
    assert await store.claim(job_id, "worker-b") is None  # the lease is live by the database's clock
    assert job_id not in await store.lapsed(timedelta(seconds=30))
    assert await store.heartbeat(job_id, "worker-a")


async def test_one_worker_takes_each_round_and_another_takes_it_once_the_holder_is_gone(db):
    rounds, name = Rounds(db), f"chore-{os.urandom(4).hex()}"
    assert await rounds.take(name, "worker-a", timedelta(minutes=1))
    assert not await rounds.take(name, "worker-b", timedelta(minutes=1))
    assert not await rounds.take(name, "worker-a", timedelta(minutes=1))  # once per round, holder or not
    async with db.write() as s:  # the round's time passed (worker-a may be dead: nothing waits for it)
        await s.execute(update(ClusterRound).where(ClusterRound.name == name)
                        .values(until=utcnow() - timedelta(seconds=1)))
    assert await rounds.take(name, "worker-b", timedelta(minutes=1))


async def test_housekeepers_on_two_workers_run_a_round_once_and_the_every_tick_chores_on_both(db, db_url, tmp_path):
    name, ran = f"sweep-{os.urandom(4).hex()}", []

    async def chore(settings) -> None:
        ran.append(name)

    async def fails(settings) -> None:
        raise RuntimeError("one chore failing harms no other")

    settings = Settings(database_url=db_url, data_dir=tmp_path, housekeeping_seconds=60)
    a = Housekeeper(settings, "worker-a", rounds={"broken": fails, name: chore}, every_tick={"outbox": chore},
                    periods={name: 3600})
    b = Housekeeper(settings, "worker-b", rounds={name: chore}, every_tick={"outbox": chore})
    assert await a.tick() == [name, "outbox"]
    assert await b.tick() == ["outbox"]
    assert ran == [name] * 3
    async with db.read() as s:  # a costly chore's round lasts its own period, not one tick
        round_ = await s.get(ClusterRound, name)
        assert round_.until - await db_now(s) > timedelta(minutes=59)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_dead_workers_scratch_is_removed_and_live_ones_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", None)
    mine = scratch.use_own_scratch(tmp_path)
    job_dir = tempfile.mkdtemp(prefix="omnidrop-vehicle-")
    assert os.path.dirname(job_dir) == str(mine)  # jobs' tempfile calls land in the worker's folder
    dead = tmp_path / f"{scratch._host()}_{dead_pid()}_0"
    (dead / "omnidrop-vehicle-x").mkdir(parents=True)
    reused = tmp_path / f"{scratch._host()}_{os.getpid()}_1"  # our pid, another start time: a dead process
    reused.mkdir()
    elsewhere = tmp_path / f"other-host_{dead_pid()}_0"  # another machine's, on a shared disk
    elsewhere.mkdir()
    assert sorted(scratch.remove_dead(tmp_path)) == sorted([dead, reused])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, elsewhere.name])

