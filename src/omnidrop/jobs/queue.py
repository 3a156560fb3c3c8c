"""The Huey instances and their tasks. Huey carries only "run job X"; state lives in the jobs table.

Embedded default: SqliteHuey in the data dir (several processes may share it). At scale:
OMNIDROP_QUEUE_URL=redis://… and `omnidrop worker` processes on any machine.

Jobs go to a named queue (the jobs table's `queue` column): `default`, which every worker consumes,
or another name (e.g. `gpu`) that only workers started for it consume (`omnidrop worker --queue gpu`).
Each name is its own Huey queue (`<queue_name>-<name>`) in the same SQLite file or Redis.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

from omnidrop.jobs import runner
from omnidrop.jobs.registry import chore_for
from omnidrop.jobs.store import DEFAULT_QUEUE
from omnidrop.settings import Settings, get_settings


def make_huey(settings: Settings, queue: str = DEFAULT_QUEUE) -> Huey:
    url = settings.resolved_queue_url
    name = settings.queue_name if queue == DEFAULT_QUEUE else f"{settings.queue_name}-{queue}"
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), timeout=30)
    raise ValueError(f"unsupported OMNIDROP_QUEUE_URL {url!r} (sqlite:///path or redis://…)")


huey = make_huey(get_settings())


def _run_job(job_id: str, request_id: str | None = None) -> None:
    runner.run_job_sync(job_id, request_id)


run_job = huey.task(name="omnidrop.run_job")(_run_job)


@huey.task(name="omnidrop.chore")
def run_chore(name: str) -> None:
    """A chore now rather than at the next housekeeping tick (e.g. outbox delivery after a commit).
    The schedule itself is kept by every worker (jobs/housekeeping.py), not by Huey's periodic tasks,
    which would run on whichever single consumer had them enabled."""
    asyncio.run(chore_for(name)(get_settings()))


_lock = threading.Lock()
_named: dict[str, tuple[Huey, object]] = {DEFAULT_QUEUE: (huey, run_job)}


def queue_for(queue: str) -> tuple[Huey, object]:
    """(the Huey instance, its run-job task) of a named queue, made on first use."""
    with _lock:
        if queue not in _named:
            other = make_huey(get_settings(), queue)
            _named[queue] = (other, other.task(name="omnidrop.run_job")(_run_job))
        return _named[queue]


def pending_job_ids(queue: str) -> set[str]:
    """The jobs whose "run" message waits in a queue now (read in full: meant for small queues)."""
    instance, _ = queue_for(queue)
    return {task.args[0] for task in [*instance.pending(), *instance.scheduled()] if task.args}
