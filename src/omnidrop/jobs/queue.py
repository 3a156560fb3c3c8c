"""The Huey instance and its tasks. Huey carries only "run job X"; state lives in the jobs table.

Embedded default: SqliteHuey in the data dir (several processes may share it). At scale:
OMNIDROP_QUEUE_URL=redis://… and `omnidrop worker` processes on any machine.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

from omnidrop.jobs import runner
from omnidrop.jobs.registry import chore_for
from omnidrop.settings import Settings, get_settings


def make_huey(settings: Settings) -> Huey:
    url = settings.resolved_queue_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(settings.queue_name, url=url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(settings.queue_name, filename=str(path), timeout=30)
    raise ValueError(f"unsupported OMNIDROP_QUEUE_URL {url!r} (sqlite:///path or redis://…)")


huey = make_huey(get_settings())


@huey.task(name="omnidrop.run_job")
def run_job(job_id: str, request_id: str | None = None) -> None:
    runner.run_job_sync(job_id, request_id)


@huey.task(name="omnidrop.chore")
def run_chore(name: str) -> None:
    """A chore now rather than at the next housekeeping tick (e.g. outbox delivery after a commit).
    The schedule itself is kept by every worker (jobs/housekeeping.py), not by Huey's periodic tasks,
    which would run on whichever single consumer had them enabled."""
    asyncio.run(chore_for(name)(get_settings()))
